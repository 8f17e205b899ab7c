"""The stored-event transcoder: eventsourcing's JSON format, encoded by msgspec.

Bytes stay in the format of eventsourcing's JSONTranscoder (UUIDs, datetimes and
other registered types as `{"_type_": name, "_data_": value}`), so stores written
before and after read the same; only the encoding is faster. Decoding keeps
JSONTranscoder's (the projections read stored events with their own decoders)."""

from typing import Any

import msgspec
from eventsourcing.persistence import JSONTranscoder

_encode = msgspec.json.Encoder().encode
_PLAIN = frozenset({str, int, float, bool, type(None)})


class MsgspecTranscoder(JSONTranscoder):
    def encode(self, obj: Any) -> bytes:
        return _encode(self._tag(obj))

    def _tag(self, o: Any) -> Any:
        """Wraps every value of a registered type as JSONTranscoder does."""
        kind = type(o)
        if kind in _PLAIN:
            return o
        if kind is dict:
            return {k: v if type(v) in _PLAIN else self._tag(v) for k, v in o.items()}
        if isinstance(o, list | tuple):
            return [self._tag(v) for v in o]
        transcoding = self.types.get(kind)
        if transcoding is not None:
            return {"_type_": transcoding.name, "_data_": self._tag(transcoding.encode(o))}
        if isinstance(o, dict):
            return {k: self._tag(v) for k, v in o.items()}
        if isinstance(o, str | int | float):  # subclasses (str enums): json encodes the value
            return o
        return self._encode_obj(o)  # raises TranscodingNotRegisteredError
