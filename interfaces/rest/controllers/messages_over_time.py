"""Messages over time over REST: edit, delete, the audit trail, reactions, pins.
Thin: the rules are the Message aggregate's (domain/message.py)."""

from uuid import UUID

from litestar import Controller, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody

from application.views import EditView, MessageView
from interfaces.rest.auth import SECURITY
from interfaces.rest.deps import Me, Service
from interfaces.rest.errors import responses
from interfaces.rest.schemas import EditMessageRequest

CHANGE = responses(400, 401, 403, 404, 409, 503)
READ = responses(400, 401, 403, 404, 503)


class MessagesOverTimeController(Controller):
    path = "/api/chats/{chat_id:uuid}"
    tags = ["messages over time"]
    security = SECURITY

    @patch("/messages/{message_id:uuid}", status_code=200, responses=CHANGE)
    async def edit(self, chat_id: FromPath[UUID], message_id: FromPath[UUID],
                   data: JSONBody[EditMessageRequest], me: Me, service: Service) -> MessageView:
        """The sender edits the message (409 once it is deleted); every earlier version
        stays in its audit trail."""
        await service.edit_message(me, chat_id, message_id, data.content)
        return await service.message_of(me, chat_id, message_id)

    @delete("/messages/{message_id:uuid}", status_code=204, responses=CHANGE)
    async def delete_message(self, chat_id: FromPath[UUID], message_id: FromPath[UUID], me: Me,
                             service: Service) -> None:
        """The sender or an admin deletes the message: it keeps its place with
        `content: null` and `deleted: true`."""
        await service.delete_message(me, chat_id, message_id)

    @get("/messages/{message_id:uuid}/edits", responses=READ)
    async def edits(self, chat_id: FromPath[UUID], message_id: FromPath[UUID], me: Me,
                    service: Service) -> list[EditView]:
        """Every version, the original first (its `editedAt` is the send time); every
        `content` is null once the message is deleted."""
        return await service.edits(me, chat_id, message_id)

    @put("/messages/{message_id:uuid}/reactions/{emoji:str}", status_code=204, responses=CHANGE)
    async def react(self, chat_id: FromPath[UUID], message_id: FromPath[UUID],
                    emoji: FromPath[str], me: Me, service: Service) -> None:
        """Adds the caller's reaction (1-64 characters); again: no change."""
        await service.set_reaction(me, chat_id, message_id, emoji, True)

    @delete("/messages/{message_id:uuid}/reactions/{emoji:str}", status_code=204,
            responses=CHANGE)
    async def unreact(self, chat_id: FromPath[UUID], message_id: FromPath[UUID],
                      emoji: FromPath[str], me: Me, service: Service) -> None:
        await service.set_reaction(me, chat_id, message_id, emoji, False)

    @post("/pins/{message_id:uuid}", status_code=204, responses=CHANGE)
    async def pin(self, chat_id: FromPath[UUID], message_id: FromPath[UUID], me: Me,
                  service: Service) -> None:
        """An admin pins the message."""
        await service.set_pin(me, chat_id, message_id, True)

    @delete("/pins/{message_id:uuid}", status_code=204, responses=CHANGE)
    async def unpin(self, chat_id: FromPath[UUID], message_id: FromPath[UUID], me: Me,
                    service: Service) -> None:
        await service.set_pin(me, chat_id, message_id, False)

    @get("/pins", responses=READ)
    async def pins(self, chat_id: FromPath[UUID], me: Me, service: Service) -> list[MessageView]:
        """The pinned messages, latest pin first."""
        return await service.pins(me, chat_id)
