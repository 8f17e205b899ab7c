"""Bearer authentication: a dependency that yields the caller's user id.

401 without a token, with a bad or expired one, and for a token signed with our
key whose user does not exist. A token from a configured external issuer
provisions its user on first sight (ChatService.ensure_user)."""

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
    """Verifies tokens, and that their users exist (`ChatService.known_user`)."""

    def __init__(self, tokens: TokenService, service: ChatService):
        self._tokens = tokens
        self._service = service

    async def user_of(self, authorization: str | None) -> str:
        if not authorization or not authorization[:7].lower() == "bearer ":
            raise NotAuthorizedException("a bearer token is required")
        try:
            identity = self._tokens.verify(authorization)
        except InvalidToken as e:
            raise NotAuthorizedException(f"invalid token: {e}") from e
        try:
            known = await self._service.known_user(identity.user_id, identity.external)
        except DomainError as e:
            raise NotAuthorizedException(f"invalid token subject: {e.message}") from e
        if not known:
            raise NotAuthorizedException("unknown user")
        return identity.user_id


async def provide_me(request: Request[Any, Any, Any], service: Service) -> str:
    """The authenticated caller's user id (dependency `me`).

    It takes `service` only so Litestar resolves the two one after the other:
    resolving several async dependencies at once uses an anyio task group, whose
    cancel scopes break on socketify's own Task class."""
    del service
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.user_of(request.headers.get("authorization"))
