"""Chats: create, list, get with members, add and remove members."""

from uuid import UUID

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from application.views import ChatListItem, ChatView
from domain.errors import InvalidInput
from interfaces.rest.auth import SECURITY
from interfaces.rest.chat_schemas import UpdateChatRequest
from interfaces.rest.controllers.messages import AsOf
from interfaces.rest.deps import Me, Service
from interfaces.rest.errors import responses
from interfaces.rest.schemas import AddMemberRequest, CreateChatRequest


class ChatController(Controller):
    path = "/api/chats"
    tags = ["chats"]
    security = SECURITY

    @post("/", status_code=201, responses=responses(400, 401, 403, 404, 503))
    async def create(self, data: JSONBody[CreateChatRequest], me: Me,
                     service: Service) -> Response[ChatView]:
        """Starts a group; the creator is a member and its owner. 404 if a member does not
        exist. With `direct: true` and one member id: the direct chat of the two users,
        201 the first time and 200 with the same chat afterwards, whoever asks."""
        if data.direct:
            if len(data.member_ids) != 1:
                raise InvalidInput("memberIds must name exactly one other user for a direct chat")
            chat, created = await service.open_direct(me, data.member_ids[0])
            return Response(chat, status_code=201 if created else 200)
        chat = await service.create_chat(me, data.title, list(data.member_ids),
                                         data.description)
        return Response(chat, status_code=201)

    @get("/", responses=responses(401, 503))
    async def list_mine(self, me: Me, service: Service) -> list[ChatListItem]:
        """The caller's chats, most recent activity first, with unreadCount and lastMessage."""
        return await service.chats_of(me)

    @get("/{chat_id:uuid}", responses=responses(400, 401, 403, 404, 503))
    async def get_one(self, chat_id: FromPath[UUID], me: Me, service: Service,
                      as_of: AsOf = None) -> ChatView:
        """The chat with its members. With `asOf`: as it stood right after that store
        position (members, title, roles then), for a member then (403 otherwise, 404 if
        it did not exist yet)."""
        if as_of is not None:
            return await service.chat_as_of(me, chat_id, as_of)
        return await service.chat_for(me, chat_id)

    @patch("/{chat_id:uuid}", responses=responses(400, 401, 403, 404, 503))
    async def update(self, chat_id: FromPath[UUID], data: JSONBody[UpdateChatRequest], me: Me,
                     service: Service) -> ChatView:
        """Changes title, description and/or retentionDays (admins); the room gets
        `chat-updated` for a new title or description."""
        retention = None if data.retention_days is msgspec.UNSET else (data.retention_days,)
        return await service.update_chat(me, chat_id, data.title, data.description, retention)

    @post("/{chat_id:uuid}/members", status_code=200,
          responses=responses(400, 401, 403, 404, 503))
    async def add_member(
        self, chat_id: FromPath[UUID], data: JSONBody[AddMemberRequest], me: Me, service: Service
    ) -> ChatView:
        """Adds a user (admins; adding a member twice changes nothing; a banned user: 403)."""
        return await service.add_member(me, chat_id, data.user_id)

    @delete("/{chat_id:uuid}/members/{user_id:str}", status_code=204,
            responses=responses(400, 401, 403, 404, 503))
    async def remove_member(
        self, chat_id: FromPath[UUID], user_id: FromPath[str], me: Me, service: Service
    ) -> None:
        """Removes a member (admins; the owner also admins; anyone themself, as leaving)."""
        await service.remove_member(me, chat_id, user_id)
