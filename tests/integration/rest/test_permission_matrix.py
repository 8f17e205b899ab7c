"""The permission matrix of "Chats people run" (CONTRACT.md), over REST on both backends,
and its writing rules over Socket.IO (python-socketio).

Read MATRIX against the contract: one row per action, one column per role of the actor.
Groups: `owner`, `admin` (named by the owner), `member`, `muted` (a member muted until
unmuted), `banned`, `outsider` (never a member). `direct`: each of the two members of a
direct chat (both get the same answer: neither has powers over the other). A cell is the
HTTP status; every refusal is 403 `forbidden` (or 400 `invalid` where noted by the
status) and stores nothing (the event store's row count does not move).

Targets: a member `target`, the banned user, the muted member, a second admin `admin2`,
the owner, a newcomer who was never a member; in a direct chat the other member (or the
newcomer for add-member)."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import socketio

from tests.conftest import ServerProcess
from tests.integration.rest.helpers import Api, User, expect_error, stored_events

MATRIX = """
action               owner admin member muted banned outsider direct
get-chat             200   200   200    200   403    403      200
send-message         201   201   201    403   403    403      201
report-message       201   201   201    201   403    403      201
add-member           200   200   403    403   403    403      403
add-banned-user      403   403   403    403   403    403      -
remove-member        204   204   403    403   403    403      403
remove-admin-member  204   403   403    403   403    403      -
remove-the-owner     204   403   403    403   403    403      -
patch-title          200   200   403    403   403    403      403
patch-description    200   200   403    403   403    403      403
name-admin           204   403   403    403   403    403      403
unname-admin         204   403   403    403   403    403      403
hand-over-owner      204   403   403    403   403    403      403
ban                  204   204   403    403   403    403      403
ban-an-admin         204   403   403    403   403    403      -
ban-the-owner        400   403   403    403   403    403      -
unban                204   204   403    403   403    403      403
mute                 204   204   403    403   403    403      403
mute-the-owner       403   403   403    403   403    403      -
unmute               204   204   403    403   403    403      403
create-invite        201   201   403    403   403    403      403
revoke-invite        204   204   403    403   403    403      403
list-bans            200   200   403    403   403    403      403
list-mutes           200   200   403    403   403    403      403
list-reports         200   200   403    403   403    403      403
leave                204   204   204    204   403    403      403
react                204   204   204    403   403    403      204
pin-message          204   204   403    403   403    403      403
delete-others-msg    204   204   403    403   403    403      -
edit-others-msg      403   403   403    403   403    403      -
"""
# remove-the-owner by the owner is the owner removing themself: leaving (any member leaves).
# ban-the-owner by the owner is banning oneself: 400 invalid, `userId` named.
# The rows of "Messages over time" act on a message of the member `target` ("others'"):
# only admins pin and delete others' messages, nobody edits them, and a mute stops reacting.

ROWS = [line.split() for line in MATRIX.strip().splitlines()]
ROLES = ROWS[0][1:]
CELLS = [(row[0], role, row[1 + i]) for row in ROWS[1:] for i, role in enumerate(ROLES)
         if row[1 + i] != "-"]


@dataclass
class People:
    owner: User
    admin: User
    admin2: User
    member: User
    target: User
    muted: User
    banned: User
    outsider: User
    newcomer: User
    direct_a: User
    direct_b: User


@dataclass
class Group:
    id: str
    invite: str
    message_id: str
    target_message_id: str


@dataclass
class Scene:
    """The chats the matrix acts on. A refusal leaves a chat as it was, so refused cells
    share one chat; a cell that succeeds gets a fresh one."""

    server: ServerProcess
    people: People
    direct_id: str
    direct_message_id: str
    _group: Group | None = None
    made: list[str] = field(default_factory=list)

    def group(self) -> Group:
        if self._group is None:
            self._group = make_group(self.people)
            self.made.append(self._group.id)
        return self._group

    def spoil(self) -> None:
        self._group = None


def ok(response: httpx.Response, status: int = 204) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def make_group(p: People) -> Group:
    o = p.owner.http
    chat = ok(o.post("/api/chats", json={"title": "matrix", "memberIds": [
        p.admin.id, p.admin2.id, p.member.id, p.target.id, p.muted.id, p.banned.id]}), 201)
    chat_id = chat["id"]
    ok(o.put(f"/api/chats/{chat_id}/admins/{p.admin.id}"))
    ok(o.put(f"/api/chats/{chat_id}/admins/{p.admin2.id}"))
    ok(o.post(f"/api/chats/{chat_id}/mutes", json={"userId": p.muted.id}))
    ok(o.post(f"/api/chats/{chat_id}/bans", json={"userId": p.banned.id, "reason": "spam"}))
    invite = ok(o.post(f"/api/chats/{chat_id}/invites", json={}), 201)
    message = ok(o.post(f"/api/chats/{chat_id}/messages", json={"content": "hello"}), 201)
    theirs = ok(p.target.http.post(f"/api/chats/{chat_id}/messages",
                                   json={"content": "mine"}), 201)
    return Group(chat_id, invite["code"], message["id"], theirs["id"])


Act = Callable[[httpx.Client, str, dict[str, Any]], httpx.Response]


def _actions() -> dict[str, Act]:
    """What each action sends: `c` the actor's client, `chat` the chat's id, `t` the
    targets of this chat (`target`, `banned`, `muted`, `admin`, `admin2`, `owner`,
    `newcomer`, `invite`, `message`)."""
    return {
        "get-chat": lambda c, chat, t: c.get(f"/api/chats/{chat}"),
        "send-message": lambda c, chat, t: c.post(f"/api/chats/{chat}/messages",
                                                  json={"content": "hi"}),
        "report-message": lambda c, chat, t: c.post(
            f"/api/chats/{chat}/messages/{t['message']}/reports", json={"reason": "rude"}),
        "add-member": lambda c, chat, t: c.post(f"/api/chats/{chat}/members",
                                                json={"userId": t["newcomer"]}),
        "add-banned-user": lambda c, chat, t: c.post(f"/api/chats/{chat}/members",
                                                     json={"userId": t["banned"]}),
        "remove-member": lambda c, chat, t: c.delete(f"/api/chats/{chat}/members/{t['target']}"),
        "remove-admin-member": lambda c, chat, t: c.delete(
            f"/api/chats/{chat}/members/{t['admin2']}"),
        "remove-the-owner": lambda c, chat, t: c.delete(
            f"/api/chats/{chat}/members/{t['owner']}"),
        "patch-title": lambda c, chat, t: c.patch(f"/api/chats/{chat}", json={"title": "new"}),
        "patch-description": lambda c, chat, t: c.patch(f"/api/chats/{chat}",
                                                        json={"description": "about"}),
        "name-admin": lambda c, chat, t: c.put(f"/api/chats/{chat}/admins/{t['target']}"),
        "unname-admin": lambda c, chat, t: c.delete(f"/api/chats/{chat}/admins/{t['admin2']}"),
        "hand-over-owner": lambda c, chat, t: c.post(f"/api/chats/{chat}/owner",
                                                     json={"userId": t["target"]}),
        "ban": lambda c, chat, t: c.post(f"/api/chats/{chat}/bans",
                                         json={"userId": t["target"], "reason": "spam"}),
        "ban-an-admin": lambda c, chat, t: c.post(f"/api/chats/{chat}/bans",
                                                  json={"userId": t["admin2"]}),
        "ban-the-owner": lambda c, chat, t: c.post(f"/api/chats/{chat}/bans",
                                                   json={"userId": t["owner"]}),
        "unban": lambda c, chat, t: c.delete(f"/api/chats/{chat}/bans/{t['banned']}"),
        "mute": lambda c, chat, t: c.post(f"/api/chats/{chat}/mutes",
                                          json={"userId": t["target"],
                                                "until": "2099-01-01T00:00:00.000Z"}),
        "mute-the-owner": lambda c, chat, t: c.post(f"/api/chats/{chat}/mutes",
                                                    json={"userId": t["owner"]}),
        "unmute": lambda c, chat, t: c.delete(f"/api/chats/{chat}/mutes/{t['muted']}"),
        "create-invite": lambda c, chat, t: c.post(f"/api/chats/{chat}/invites",
                                                   json={"ttlSeconds": 60, "maxUses": 2}),
        "revoke-invite": lambda c, chat, t: c.delete(f"/api/chats/{chat}/invites/{t['invite']}"),
        "list-bans": lambda c, chat, t: c.get(f"/api/chats/{chat}/bans"),
        "list-mutes": lambda c, chat, t: c.get(f"/api/chats/{chat}/mutes"),
        "list-reports": lambda c, chat, t: c.get(f"/api/chats/{chat}/reports"),
        "leave": lambda c, chat, t: c.post(f"/api/chats/{chat}/leave"),
        "react": lambda c, chat, t: c.put(
            f"/api/chats/{chat}/messages/{t['message']}/reactions/\N{THUMBS UP SIGN}"),
        "pin-message": lambda c, chat, t: c.post(f"/api/chats/{chat}/pins/{t['message']}"),
        "delete-others-msg": lambda c, chat, t: c.delete(
            f"/api/chats/{chat}/messages/{t['target_message']}"),
        "edit-others-msg": lambda c, chat, t: c.patch(
            f"/api/chats/{chat}/messages/{t['target_message']}", json={"content": "theirs"}),
    }


ACTIONS = _actions()
READS = {"get-chat", "list-bans", "list-mutes", "list-reports"}


@pytest.fixture(scope="module")
def scene(live_server: ServerProcess) -> Iterator[Scene]:
    api = Api(live_server.url)
    names = ["owner", "admin", "admin2", "member", "target", "muted", "banned", "outsider",
             "newcomer", "direct_a", "direct_b"]
    people = People(*(api.user(n) for n in names))
    direct = ok(people.direct_a.http.post("/api/chats", json={
        "memberIds": [people.direct_b.id], "direct": True}), 201)
    message = ok(people.direct_a.http.post(f"/api/chats/{direct['id']}/messages",
                                           json={"content": "hi b"}), 201)
    yield Scene(live_server, people, direct["id"], message["id"])
    api.close()


def test_the_matrix_lists_every_action_once() -> None:
    assert [row[0] for row in ROWS[1:]] == list(ACTIONS)
    assert all(len(row) == len(ROWS[0]) for row in ROWS)


def test_every_role_gets_the_contracts_answer_for_every_action(scene: Scene) -> None:
    p = scene.people
    wrong: list[str] = []
    for action, role, expected in CELLS:
        actors = ([p.direct_a, p.direct_b] if role == "direct" else [getattr(p, role)])
        for actor in actors:
            if role == "direct":
                other = p.direct_b if actor is p.direct_a else p.direct_a
                chat_id = scene.direct_id
                targets = dict.fromkeys(("target", "banned", "muted", "admin", "admin2",
                                         "owner"), other.id)
                targets.update(newcomer=p.newcomer.id, invite="0" * 40,
                               message=scene.direct_message_id,
                               target_message=scene.direct_message_id)
            else:
                group = scene.group()
                chat_id = group.id
                targets = {"target": p.target.id, "banned": p.banned.id, "muted": p.muted.id,
                           "admin": p.admin.id, "admin2": p.admin2.id, "owner": p.owner.id,
                           "newcomer": p.newcomer.id, "invite": group.invite,
                           "message": group.message_id,
                           "target_message": group.target_message_id}
            before = stored_events(scene.server)
            response = ACTIONS[action](actor.http, chat_id, targets)
            status = response.status_code
            if status != int(expected):
                wrong.append(f"{action} by {role}: {status} {response.text[:160]}"
                             f" (contract: {expected})")
                scene.spoil()
                continue
            if status >= 400:
                body = response.json()
                code = {400: "invalid", 403: "forbidden"}[status]
                if body.get("code") != code:
                    wrong.append(f"{action} by {role}: code {body.get('code')} (want {code})")
                if stored_events(scene.server) != before:
                    wrong.append(f"{action} by {role}: refused, yet stored events")
            elif action not in READS:
                if stored_events(scene.server) == before:
                    wrong.append(f"{action} by {role}: {status}, yet nothing stored")
                scene.spoil()  # the chat changed: the next cell gets a fresh one
    assert not wrong, "\n".join(wrong)


def test_unknown_chats_are_404_for_every_action(scene: Scene) -> None:
    p = scene.people
    unknown = "00000000-0000-4000-8000-000000000000"
    targets = {"target": p.target.id, "banned": p.banned.id, "muted": p.muted.id,
               "admin": p.admin.id, "admin2": p.admin2.id, "owner": p.owner.id,
               "newcomer": p.newcomer.id, "invite": unknown.replace("-", "") + "abc",
               "message": unknown, "target_message": unknown}
    before = stored_events(scene.server)
    answers = {action: act(p.owner.http, unknown, targets) for action, act in ACTIONS.items()}
    for response in answers.values():
        expect_error(response, 404, "not_found")
    assert stored_events(scene.server) == before


def test_the_direct_chat_has_no_owner_and_no_admins(scene: Scene) -> None:
    chat = ok(scene.people.direct_b.http.get(f"/api/chats/{scene.direct_id}"), 200)
    assert chat["kind"] == "direct"
    assert chat["ownerId"] is None and chat["admins"] == []
    assert sorted(chat["memberIds"]) == sorted([scene.people.direct_a.id,
                                                scene.people.direct_b.id])


# -- the same writing rules over Socket.IO --------------------------------------------

SOCKET_MATRIX = """
event           owner     admin     member    muted     banned    outsider  direct
send-message    ok        ok        ok        muted     forbidden forbidden ok
typing-start    ok        ok        ok        muted     forbidden forbidden ok
join-chat       ok        ok        ok        ok        forbidden forbidden ok
add-reaction    ok        ok        ok        muted     forbidden forbidden ok
pin-message     ok        ok        forbidden forbidden forbidden forbidden forbidden
edit-message    forbidden forbidden forbidden muted     forbidden forbidden -
delete-message  ok        ok        forbidden forbidden forbidden forbidden -
"""
# `muted`: refused with code forbidden and an error that says "muted". The message rows
# act on a message of the member `target` (the direct chat's: its first member's, so the
# cells that would be one's own message are `-`); a cell that succeeds gets a fresh group.


async def test_socket_io_applies_the_same_rules(scene: Scene) -> None:
    p = scene.people
    rows = [line.split() for line in SOCKET_MATRIX.strip().splitlines()]
    roles = rows[0][1:]
    clients: dict[str, socketio.AsyncClient] = {}
    wrong: list[str] = []
    try:
        for role in roles:
            actors = [p.direct_a, p.direct_b] if role == "direct" else [getattr(p, role)]
            for actor in actors:
                sio = socketio.AsyncClient(reconnection=False)
                await sio.connect(scene.server.url, auth={"token": actor.token,
                                                          "recovery": False},
                                  transports=["websocket"])
                clients[f"{role}:{actor.id}"] = sio
        for row in rows[1:]:
            event = row[0]
            for role, expected in zip(roles, row[1:], strict=True):
                if expected == "-":
                    continue
                for key, sio in clients.items():
                    if not key.startswith(role + ":"):
                        continue
                    payload = socket_payload(scene, event, role)
                    before = stored_events(scene.server)
                    ack = await sio.call(event, payload, timeout=10)
                    got = ("ok" if ack.get("success") else
                           "muted" if ack.get("code") == "forbidden"
                           and "muted" in ack.get("error", "") else ack.get("code"))
                    if got != expected:
                        wrong.append(f"{event} by {role}: {ack} (contract: {expected})")
                    if expected != "ok" and stored_events(scene.server) != before:
                        wrong.append(f"{event} by {role}: refused, yet stored events")
                    if got == "ok" and event in MESSAGE_EVENTS and role != "direct":
                        scene.spoil()  # the message changed: the next cell gets a fresh one
    finally:
        for sio in clients.values():
            await sio.disconnect()
        scene.spoil()
    assert not wrong, "\n".join(wrong)


MESSAGE_EVENTS = {"add-reaction", "pin-message", "edit-message", "delete-message"}


def socket_payload(scene: Scene, event: str, role: str) -> dict[str, Any]:
    if role == "direct":
        chat_id, message_id = scene.direct_id, scene.direct_message_id
        theirs = message_id
    else:
        group = scene.group()
        chat_id, message_id, theirs = group.id, group.message_id, group.target_message_id
    payload: dict[str, Any] = {"chatId": chat_id}
    if event == "send-message":
        payload["content"] = "over socket.io"
    elif event in ("add-reaction", "pin-message"):
        payload.update(messageId=message_id, emoji="\N{THUMBS UP SIGN}")
    elif event in ("edit-message", "delete-message"):
        payload.update(messageId=theirs, content="theirs")
    return payload
