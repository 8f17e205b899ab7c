"""Bearer authentication: a dependency that yields the caller's user id.

401 without a token, with a bad or expired one, and for a token signed with our
key whose user does not exist. A token from a configured external issuer
provisions its user on first sight (ChatService.ensure_user)."""

from collections import OrderedDict
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from application.service import ChatService
from domain.errors import DomainError
from infrastructure.tokens import InvalidToken, TokenService
from interfaces.rest.deps import Service

SECURITY_SCHEME = "BearerToken"
SECURITY: list[dict[str, list[str]]] = [{SECURITY_SCHEME: []}]


class Authenticator:
    """Verifies tokens; remembers users known to exist (users are never deleted)."""

    def __init__(self, tokens: TokenService, service: ChatService, cache_size: int = 10_000):
        self._tokens = tokens
        self._service = service
        self._known: OrderedDict[str, None] = OrderedDict()
        self._cache_size = cache_size

    async def user_of(self, authorization: str | None) -> str:
        if not authorization or not authorization[:7].lower() == "bearer ":
            raise NotAuthorizedException("a bearer token is required")
        try:
            identity = self._tokens.verify(authorization)
        except InvalidToken as e:
            raise NotAuthorizedException(f"invalid token: {e}") from e
        user_id = identity.user_id
        if user_id in self._known:
            self._known.move_to_end(user_id)
            return user_id
        if identity.external:
            try:
                await self._service.ensure_user(user_id, external=True)
            except DomainError as e:
                raise NotAuthorizedException(f"invalid token subject: {e.message}") from e
        elif await self._service.get_user(user_id) is None:
            raise NotAuthorizedException("unknown user")
        self._remember(user_id)
        return user_id

    def _remember(self, user_id: str) -> None:
        self._known[user_id] = None
        if len(self._known) > self._cache_size:
            self._known.popitem(last=False)


async def provide_me(request: Request[Any, Any, Any], service: Service) -> str:
    """The authenticated caller's user id (dependency `me`).

    It takes `service` only so Litestar resolves the two one after the other:
    resolving several async dependencies at once uses an anyio task group, whose
    cancel scopes break on socketify's own Task class."""
    del service
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.user_of(request.headers.get("authorization"))
