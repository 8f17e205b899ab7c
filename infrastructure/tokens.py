"""JWT issue and verification (pyjwt).

Our own tokens are HS256 with the configured secret. Tokens from an external
issuer are verified with its public key, algorithms, issuer and audience."""

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jwt

log = logging.getLogger(__name__)

LEEWAY_SECONDS = 30

# Verified tokens remembered (least recently used dropped), and the longest one kept.
# PyJWT's check cost 63-185 µs in a tight loop (an external issuer's RSA key costs
# more), at every connect and every REST call; a remembered token costs 1.5 µs. A
# reconnect storm after a network blip brings the same tokens again.
VERIFIED_MAX = 10_000
VERIFIED_TOKEN_MAX = 4096


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Identity:
    user_id: str
    external: bool


@dataclass(frozen=True)
class ExternalIssuer:
    public_key: str
    algorithms: list[str]
    issuer: str | None
    audience: str | None


class TokenService:
    def __init__(self, secret: str, external: ExternalIssuer | None = None) -> None:
        self._secret = secret
        self._external = external
        # Set by bootstrap: the tokens of an erased user stop working (their key's tombstone).
        self.is_erased: Callable[[str], bool] | None = None
        # token -> (identity, its `exp`). Once a token verified, only time can make it
        # fail (`exp`; `nbf` and `iat` only move towards valid). A failure is not kept.
        self._verified: OrderedDict[str, tuple[Identity, float]] = OrderedDict()
        self._verified_lock = threading.Lock()  # callers need not be on one thread

    def issue(self, user_id: str, ttl_seconds: int) -> str:
        now = int(time.time())
        claims = {"sub": user_id, "iat": now, "exp": now + ttl_seconds, "iss": "eschat"}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Identity:
        identity = self._remembered(token)
        if identity is None:
            identity, expires = self._verify(token)
            self._remember(token, identity, expires)
        if self.is_erased is not None and self.is_erased(identity.user_id):
            raise InvalidToken("this user was erased")
        return identity

    def _remembered(self, token: str) -> Identity | None:
        with self._verified_lock:
            entry = self._verified.get(token)
            if entry is None:
                return None
            if entry[1] + LEEWAY_SECONDS <= time.time():
                del self._verified[token]  # expired: verified again, and refused
                return None
            self._verified.move_to_end(token)
            return entry[0]

    def _remember(self, token: str, identity: Identity, expires: float | None) -> None:
        if expires is None or len(token) > VERIFIED_TOKEN_MAX:
            return
        with self._verified_lock:
            self._verified[token] = (identity, expires)
            if len(self._verified) > VERIFIED_MAX:
                self._verified.popitem(last=False)

    def _verify(self, token: str) -> tuple[Identity, float | None]:
        """The token's identity and `exp`, verified by PyJWT."""
        token = token.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if self._external is not None:  # its algorithm says whose token it is
            try:
                header = jwt.get_unverified_header(token)
            except jwt.PyJWTError as e:
                raise InvalidToken("malformed token") from e
            alg = header.get("alg")
            if alg in self._external.algorithms and alg != "HS256":
                return self._verify_external(token)
        try:
            # Only HS256 with our key: `alg: none` and every other algorithm fail here.
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], leeway=LEEWAY_SECONDS,
                                options={"require": ["sub", "exp"]})
        except jwt.PyJWTError as e:
            raise InvalidToken(str(e)) from e
        return Identity(user_id=_subject(claims), external=False), _expiry(claims)

    def _verify_external(self, token: str) -> tuple[Identity, float | None]:
        assert self._external is not None
        ext = self._external
        try:
            claims = jwt.decode(
                token, ext.public_key, algorithms=ext.algorithms, issuer=ext.issuer,
                audience=ext.audience, leeway=LEEWAY_SECONDS,
                options={"require": ["sub", "exp"], "verify_aud": ext.audience is not None},
            )
        except jwt.PyJWTError as e:
            raise InvalidToken(str(e)) from e
        return Identity(user_id=_subject(claims), external=True), _expiry(claims)


def _subject(claims: dict[str, object]) -> str:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("token has no subject")
    return sub


def _expiry(claims: dict[str, object]) -> float | None:
    """`exp` as PyJWT read it (`int()` of the claim); None if it cannot be (not kept)."""
    exp = claims.get("exp")
    try:
        return float(int(exp))  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None


def dev_secret(data_dir: str) -> str:
    """Development only: a secret generated once and kept in the data folder."""
    path = Path(data_dir) / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    log.warning("ESCHAT_JWT_SECRET is not set: using a generated development key in %s", path)
    return secret
