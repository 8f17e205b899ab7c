"""Chats people run over REST: leave, roles, details, bans, mutes, reports,
invites and blocks. Thin: the rules are the Chat aggregate's (domain/chat.py)."""

from datetime import UTC, datetime
from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, JSONBody

from application.views import BanView, BlockView, ChatView, InviteView, MuteView, ReportView
from interfaces.rest.auth import SECURITY
from interfaces.rest.chat_schemas import (
    BanRequest,
    InviteRequest,
    MuteRequest,
    ReportRequest,
    UserRequest,
)
from interfaces.rest.deps import Me, Service
from interfaces.rest.errors import responses

CHANGE = responses(400, 401, 403, 404, 503)


class ChatAdminController(Controller):
    path = "/api/chats/{chat_id:uuid}"
    tags = ["chats people run"]
    security = SECURITY

    @post("/leave", status_code=204, responses=CHANGE)
    async def leave(self, chat_id: FromPath[UUID], me: Me, service: Service) -> None:
        """Any member of a group leaves; an owner who leaves hands the chat to the oldest
        admin, else the oldest member."""
        await service.leave(me, chat_id)

    @put("/admins/{user_id:str}", status_code=204, responses=CHANGE)
    async def name_admin(self, chat_id: FromPath[UUID], user_id: FromPath[str], me: Me,
                         service: Service) -> None:
        """The owner names a member admin."""
        await service.name_admin(me, chat_id, user_id)

    @delete("/admins/{user_id:str}", status_code=204, responses=CHANGE)
    async def remove_admin(self, chat_id: FromPath[UUID], user_id: FromPath[str], me: Me,
                           service: Service) -> None:
        await service.remove_admin(me, chat_id, user_id)

    @post("/owner", status_code=204, responses=CHANGE)
    async def hand_over(self, chat_id: FromPath[UUID], data: JSONBody[UserRequest], me: Me,
                        service: Service) -> None:
        """The owner hands ownership to a member (and stays an admin)."""
        await service.hand_over(me, chat_id, data.user_id)

    @post("/bans", status_code=204, responses=CHANGE)
    async def ban(self, chat_id: FromPath[UUID], data: JSONBody[BanRequest], me: Me,
                  service: Service) -> None:
        """Removes the user and keeps them out (no re-adding, no invite) until unbanned."""
        await service.ban(me, chat_id, data.user_id, data.reason)

    @delete("/bans/{user_id:str}", status_code=204, responses=CHANGE)
    async def unban(self, chat_id: FromPath[UUID], user_id: FromPath[str], me: Me,
                    service: Service) -> None:
        await service.unban(me, chat_id, user_id)

    @get("/bans", responses=responses(401, 403, 404, 503))
    async def bans(self, chat_id: FromPath[UUID], me: Me, service: Service) -> list[BanView]:
        return await service.bans(me, chat_id)

    @post("/mutes", status_code=204, responses=CHANGE)
    async def mute(self, chat_id: FromPath[UUID], data: JSONBody[MuteRequest], me: Me,
                   service: Service) -> None:
        """The member may read but not send, react or type until `until` (absent: until
        unmuted); a mute expires by itself."""
        await service.mute(me, chat_id, data.user_id, data.until)

    @delete("/mutes/{user_id:str}", status_code=204, responses=CHANGE)
    async def unmute(self, chat_id: FromPath[UUID], user_id: FromPath[str], me: Me,
                     service: Service) -> None:
        await service.unmute(me, chat_id, user_id)

    @get("/mutes", responses=responses(401, 403, 404, 503))
    async def mutes(self, chat_id: FromPath[UUID], me: Me, service: Service) -> list[MuteView]:
        """The mutes in force now."""
        return await service.mutes(me, chat_id, datetime.now(UTC))

    @post("/messages/{message_id:uuid}/reports", status_code=201, responses=CHANGE)
    async def report(self, chat_id: FromPath[UUID], message_id: FromPath[UUID],
                     data: JSONBody[ReportRequest], me: Me, service: Service) -> ReportView:
        """Any member reports a message to the chat's admins."""
        return await service.report(me, chat_id, message_id, data.reason)

    @get("/reports", responses=responses(401, 403, 404, 503))
    async def reports(self, chat_id: FromPath[UUID], me: Me,
                      service: Service) -> list[ReportView]:
        """The chat's reports (admins)."""
        return await service.reports(me, chat_id)

    @post("/invites", status_code=201, responses=CHANGE)
    async def create_invite(self, chat_id: FromPath[UUID], data: JSONBody[InviteRequest],
                            me: Me, service: Service) -> InviteView:
        """An invite code (admins), valid for `ttlSeconds` (absent: until revoked) and at
        most `maxUses` joins (absent: any number)."""
        return await service.create_invite(me, chat_id, data.ttl_seconds, data.max_uses)

    @delete("/invites/{code:str}", status_code=204, responses=CHANGE)
    async def revoke_invite(self, chat_id: FromPath[UUID], code: FromPath[str], me: Me,
                            service: Service) -> None:
        await service.revoke_invite(me, chat_id, code)


class InviteController(Controller):
    path = "/api/invites"
    tags = ["chats people run"]
    security = SECURITY

    @post("/{code:str}/accept", status_code=200, responses=responses(401, 403, 404, 410, 503))
    async def accept(self, code: FromPath[str], me: Me, service: Service) -> ChatView:
        """Joins the chat: 404 unknown code, 410 expired or used up, 403 banned."""
        return await service.accept_invite(me, code)


class BlockController(Controller):
    path = "/api/me/blocks"
    tags = ["chats people run"]
    security = SECURITY

    @put("/{user_id:str}", status_code=204, responses=responses(400, 401, 404, 503))
    async def block(self, user_id: FromPath[str], me: Me, service: Service) -> None:
        """The user can no longer open or write in a direct chat with the caller."""
        await service.set_block(me, user_id, True)

    @delete("/{user_id:str}", status_code=204, responses=responses(400, 401, 404, 503))
    async def unblock(self, user_id: FromPath[str], me: Me, service: Service) -> None:
        await service.set_block(me, user_id, False)

    @get("/", responses=responses(401, 503))
    async def blocks(self, me: Me, service: Service) -> list[BlockView]:
        return await service.blocks(me)
