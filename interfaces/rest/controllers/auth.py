"""POST /api/auth/register, POST /api/auth/login, GET /api/me."""

import asyncio
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody

from application.views import UserView
from domain.errors import NotFound
from interfaces.rest.auth import SECURITY
from interfaces.rest.deps import Me, Service
from interfaces.rest.errors import responses
from interfaces.rest.login_limits import THROTTLED_ANSWER_DELAY_S, LoginLimiter, LoginThrottled
from interfaces.rest.schemas import LoginRequest, LoginResponse, Registered, RegisterRequest


class AuthController(Controller):
    path = "/api"
    tags = ["auth"]

    @post("/auth/register", status_code=201, responses=responses(400, 409, 503))
    async def register(self, data: JSONBody[RegisterRequest], service: Service) -> Registered:
        """Creates a local user (password hashed with argon2id). 409 if the name is taken."""
        user_id = await service.register(data.username, data.password, data.display_name)
        return Registered(user_id=user_id)

    @post("/auth/login", status_code=200, responses=responses(400, 401, 429, 503))
    async def login(
        self, data: JSONBody[LoginRequest], service: Service, request: Request[Any, Any, Any]
    ) -> LoginResponse:
        """Exchanges a username and password for a bearer token (JWT, HS256). After 10
        wrong passwords for an account in 15 minutes, or 50 from one address: 429 with
        `Retry-After`."""
        limiter: LoginLimiter = request.app.state.login_limiter
        address = request.client.host if request.client else ""
        try:
            attempt = limiter.begin(data.username, address)
        except LoginThrottled:
            # A refusal costs a sleeping coroutine: a client that ignores Retry-After
            # waits here instead of spending the event loop on request after request.
            await asyncio.sleep(THROTTLED_ANSWER_DELAY_S)
            raise
        try:
            user_id = await service.authenticate(data.username, data.password)
        except Exception:
            limiter.forgive(attempt)  # not a wrong password: the check did not run
            raise
        if user_id is None:
            raise NotAuthorizedException("wrong username or password")
        limiter.forgive(attempt)
        container = request.app.state.container
        ttl = int(container.settings.token_ttl_s)
        token = container.tokens.issue(user_id, ttl)
        return LoginResponse(access_token=token, token_type="Bearer", expires_in=ttl)

    @get("/me", security=SECURITY, responses=responses(401, 503))
    async def me(self, me: Me, service: Service) -> UserView:
        """The authenticated user."""
        user = await service.get_user(me)
        if user is None:
            raise NotFound("user not found")
        return user

    @delete("/me", status_code=204, security=SECURITY, responses=responses(401, 503))
    async def erase_me(self, me: Me, service: Service) -> None:
        """Erases the caller (CONTRACT.md, "Privacy and erasure"): what they wrote reads
        `content: null, erased: true` everywhere, and their tokens stop working."""
        await service.erase_user(me)
