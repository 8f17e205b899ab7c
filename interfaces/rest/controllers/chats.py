"""Chats: create, list, get with members, add and remove members."""

from uuid import UUID

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody

from application.views import ChatListItem, ChatView
from interfaces.rest.auth import SECURITY
from interfaces.rest.deps import Me, Service
from interfaces.rest.errors import responses
from interfaces.rest.schemas import AddMemberRequest, CreateChatRequest


class ChatController(Controller):
    path = "/api/chats"
    tags = ["chats"]
    security = SECURITY

    @post("/", status_code=201, responses=responses(400, 401, 404, 503))
    async def create(self, data: JSONBody[CreateChatRequest], me: Me, service: Service) -> ChatView:
        """Starts a chat; the creator is a member. 404 if a member does not exist."""
        return await service.create_chat(me, data.title, list(data.member_ids))

    @get("/", responses=responses(401, 503))
    async def list_mine(self, me: Me, service: Service) -> list[ChatListItem]:
        """The caller's chats, most recent activity first, with unreadCount and lastMessage."""
        return await service.chats_of(me)

    @get("/{chat_id:uuid}", responses=responses(401, 403, 404, 503))
    async def get_one(self, chat_id: FromPath[UUID], me: Me, service: Service) -> ChatView:
        """The chat with its members."""
        return await service.chat_for(me, chat_id)

    @post("/{chat_id:uuid}/members", status_code=200,
          responses=responses(400, 401, 403, 404, 503))
    async def add_member(
        self, chat_id: FromPath[UUID], data: JSONBody[AddMemberRequest], me: Me, service: Service
    ) -> ChatView:
        """Adds a user (a member may add; adding a member twice changes nothing)."""
        return await service.add_member(me, chat_id, data.user_id)

    @delete("/{chat_id:uuid}/members/{user_id:str}", status_code=204,
            responses=responses(400, 401, 403, 404, 503))
    async def remove_member(
        self, chat_id: FromPath[UUID], user_id: FromPath[str], me: Me, service: Service
    ) -> None:
        """Removes a member (a member may remove anyone, including themself)."""
        await service.remove_member(me, chat_id, user_id)
