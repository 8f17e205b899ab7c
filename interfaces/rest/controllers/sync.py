"""Presence and the event feed."""

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from application.views import FeedItem, PresenceView
from domain.errors import InvalidInput
from interfaces.rest.auth import SECURITY
from interfaces.rest.deps import Me, Service
from interfaces.rest.errors import responses

MAX_PRESENCE_IDS = 200


class PresenceController(Controller):
    path = "/api/presence"
    tags = ["presence"]
    security = SECURITY

    @get("/", responses=responses(400, 401, 503))
    async def presence(
        self,
        me: Me,
        service: Service,
        user_ids: Annotated[str, QueryParameter(name="userIds", max_length=4000,
                                           description="comma-separated user ids")],
    ) -> list[PresenceView]:
        """Whether each user is online (on any node) and when they were last seen."""
        ids = list(dict.fromkeys(u.strip() for u in user_ids.split(",") if u.strip()))
        if len(ids) > MAX_PRESENCE_IDS:
            raise InvalidInput(f"userIds must list at most {MAX_PRESENCE_IDS} users")
        return await service.presence(ids)


class EventController(Controller):
    path = "/api/events"
    tags = ["events"]
    security = SECURITY

    @get("/", responses=responses(400, 401, 503))
    async def events(
        self,
        me: Me,
        service: Service,
        after: Annotated[int, QueryParameter(ge=0, le=2**63 - 1,
                                             description="exclusive position")] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[FeedItem]:
        """The caller's visible stored events after a position, in store order. Pass the
        last item's `position` as the next `after`."""
        return await service.feed(me, after, limit)
