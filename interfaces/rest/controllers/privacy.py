"""GET / PATCH /api/me/settings: the caller's privacy settings."""

import re
from typing import Any

import msgspec
from litestar import Controller, Request, get, patch
from litestar.params import JSONBody

from application.views import PrivacySettingsView
from domain.errors import InvalidInput
from interfaces.rest.auth import SECURITY
from interfaces.rest.deps import Me, Service
from interfaces.rest.errors import responses


class PrivacySettingsRequest(msgspec.Struct, rename="camel", kw_only=True,
                             forbid_unknown_fields=True):
    """At least one of the two; any other field is refused (400), as is `null`."""

    read_receipts: bool | msgspec.UnsetType = msgspec.UNSET
    """false: nobody else learns what you read (no `message-read`, not in `readBy`)."""
    last_seen: bool | msgspec.UnsetType = msgspec.UNSET
    """false: nobody else sees your `lastSeen` (`user-offline`, `/api/presence`)."""


_AT = re.compile(r"at `\$\.(\w+)`")
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")


def strictly(body: bytes) -> PrivacySettingsRequest:
    """The body decoded strictly: Litestar converts leniently ("false" -> false), and a
    setting is a JSON boolean or absent."""
    try:
        return msgspec.json.decode(body, type=PrivacySettingsRequest)
    except msgspec.ValidationError as e:
        text = str(e)
        if (unknown := _UNKNOWN.search(text)) is not None:
            raise InvalidInput(f"{unknown.group(1)} must not be sent: the settings are"
                               " readReceipts and lastSeen") from e
        if (at := _AT.search(text)) is not None:
            raise InvalidInput(f"{at.group(1)} must be true or false") from e
        raise InvalidInput(f"body must be an object of settings ({text})") from e
    except msgspec.DecodeError as e:
        raise InvalidInput(f"body must be JSON ({e})") from e


class PrivacyController(Controller):
    path = "/api/me/settings"
    tags = ["privacy"]
    security = SECURITY

    @get("/", responses=responses(401, 404, 503))
    async def settings(self, me: Me, service: Service) -> PrivacySettingsView:
        """The caller's privacy settings (both true until changed)."""
        return await service.privacy(me)

    @patch("/", responses=responses(400, 401, 404, 503))
    async def change(self, data: JSONBody[PrivacySettingsRequest], me: Me, service: Service,
                     request: Request[Any, Any, Any]) -> PrivacySettingsView:
        """Changes the settings named in the body; answers with both. Honoured from the
        next event on, on every node, in live events, recovery and `/api/events`."""
        data = strictly(await request.body())
        read = None if data.read_receipts is msgspec.UNSET else data.read_receipts
        seen = None if data.last_seen is msgspec.UNSET else data.last_seen
        return await service.change_privacy(me, read, seen)
