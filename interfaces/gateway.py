"""The chat gateway: Socket.IO events of the contract <-> the application.

Writes go to ChatService; what clients receive is the feed (every stored event as
clients see it), in store order through the node's delivery cursor
(application/delivery.py): this node's own commits straight from the writer, and
everything else as the projection runner hands it over after each batch. Room
names: `chat:<id>` for sockets that take recovery offsets, `chat:<id>:plain` for
those that asked for none, and `user:<id>` for every socket of a user."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

import msgspec

from application.backpressure import Overloaded
from application.delivery import Committed, DeliveryCursor, Row
from application.feed import (
    MEMBERSHIP,
    PRESENCE,
    WITH_OFFSET,
    ClientEvent,
    Connected,
    ServerEvent,
    Typing,
)
from application.service import ChatService
from application.writer import Unavailable
from domain.errors import DomainError
from domain.ids import parse_uuid
from infrastructure.tokens import InvalidToken, TokenService
from infrastructure.typing_bus import TypingBus
from interfaces.gateway_payloads import (
    ChatRef,
    EditMessage,
    JoinChat,
    MessageRef,
    PayloadError,
    ReactionRef,
    SendMessage,
    parse,
)
from interfaces.presence_fanout import PresenceFanOut
from interfaces.rate_limit import TokenBucket
from interfaces.replay_skip import ReplaySkip
from interfaces.socketio import ConnectRefused, Namespace, Socket, SocketIOServer
from interfaces.socketio.context import ack_requested
from interfaces.turns import Turns

log = logging.getLogger("eschat.gateway")
# Issue 12's storm (999 receipts at once, a pair chatting elsewhere), with 32 receipts
# per writer batch: the pair's ack p99 86-168 ms with 32 per turn (ten runs), 97-126 with
# 64 (two), 133-220 without (three); over 2,100 receipts/s in each (bench/RESULTS.md).
RECEIPTS_PER_TURN = 32

AUTH_FAILED = {"message": "Authentication failed"}
TYPING_EXPIRES_S = 6.0
MAX_JOIN_LIMIT = 200

Ack = dict[str, Any]
Handler = Callable[[Socket, tuple[Any, ...]], Awaitable[Ack]]


def ok(**fields: Any) -> Ack:
    return {"success": True, **fields}


def fail(error: str, code: str) -> Ack:
    return {"success": False, "error": error, "code": code}


def chat_room(chat_id: str, plain: bool = False) -> str:
    return f"chat:{chat_id}:plain" if plain else f"chat:{chat_id}"


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


class ChatGateway:
    def __init__(
        self,
        sio: SocketIOServer,
        service: ChatService,
        tokens: TokenService,
        typing: TypingBus,
        *,
        recovery: bool = True,
        inactivity_timeout_s: float = 60.0,
    ) -> None:
        self.sio = sio
        self.ns: Namespace = sio.of("/", recovery=recovery)
        self.service = service
        self.tokens = tokens
        self.typing = typing
        self.recovery = recovery
        self.inactivity_timeout_s = inactivity_timeout_s
        # What this node's sockets have been handed, in store order; see _replay.
        self.cursor = DeliveryCursor(0, self._fan_out)
        self.replay_skip = ReplaySkip()
        self._followed_upto = 0  # the runner thread's last `upto`
        self._delivery_listeners: list[Callable[[Sequence[Row]], None]] = []
        self.presence = PresenceFanOut(service.chat_ids_of_many, self._publish_presence,
                                       lambda: self.loop)
        self._typing_timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        # Receipts start at most RECEIPTS_PER_TURN per loop turn (interfaces/turns.py).
        self.receipt_turns = Turns(RECEIPTS_PER_TURN)
        self.ns.on_connect(self.on_connect)
        self.ns.on_disconnect(self.on_disconnect)
        events: dict[str, Handler] = {
            ClientEvent.SEND_MESSAGE: self.send_message,
            ClientEvent.JOIN_CHAT: self.join_chat,
            ClientEvent.LEAVE_CHAT: self.leave_chat,
            ClientEvent.TYPING_START: self.typing_start,
            ClientEvent.TYPING_STOP: self.typing_stop,
            ClientEvent.MESSAGE_DELIVERED: self.message_delivered,
            ClientEvent.MESSAGE_READ: self.message_read,
            ClientEvent.PING: self.ping,
            ClientEvent.EDIT_MESSAGE: self.edit_message,
            ClientEvent.DELETE_MESSAGE: self.delete_message,
            ClientEvent.ADD_REACTION: self.add_reaction,
            ClientEvent.REMOVE_REACTION: self.remove_reaction,
            ClientEvent.PIN_MESSAGE: self.pin_message,
            ClientEvent.UNPIN_MESSAGE: self.unpin_message,
        }
        for name, handler in events.items():
            self.ns.on(name, self._guarded(name, handler))
        typing.subscribe(self._on_typing)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.sio.engine.loop

    @property
    def fanned_out(self) -> int:
        """Every stored event up to here has been handed to this node's sockets."""
        return self.cursor.delivered

    def add_delivery_listener(self, listener: Callable[[Sequence[Row]], None]) -> None:
        """Told of every row this node hands to its sockets, in store order (metrics)."""
        self._delivery_listeners.append(listener)

    def start_delivery(self, position: int) -> None:
        """Live delivery starts after `position` (the read models' at start-up): older
        events reach clients through history and recovery."""
        self.cursor = DeliveryCursor(position, self._fan_out)
        self.replay_skip = ReplaySkip(position)  # older rows were never fanned out here
        self._followed_upto = position

    # -- connection ------------------------------------------------------------
    def _token(self, socket: Socket, auth: dict[str, Any]) -> str | None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if isinstance(token, str) and token:
            return token
        header = socket.handshake.headers.get("authorization", "")
        return header if header.lower().startswith("bearer ") else None

    async def on_connect(self, socket: Socket, auth: dict[str, Any]) -> None:
        # Everything fanned out after this point is replayed before the socket
        # joins its rooms (see _replay): nothing falls between the two.
        start = self.fanned_out
        token = self._token(socket, auth)
        if token is None:
            raise ConnectRefused(AUTH_FAILED)
        try:
            identity = self.tokens.verify(token)
        except InvalidToken as e:
            log.info("refused connection: %s", e)
            raise ConnectRefused(AUTH_FAILED) from e
        if not await self.service.known_user(identity.user_id, identity.external):
            raise ConnectRefused(AUTH_FAILED)
        user_id = identity.user_id
        plain = not self.recovery or (isinstance(auth, dict) and auth.get("recovery") is False)
        socket.data.update(
            user=user_id, plain=plain, active=time.monotonic(),
            send_bucket=TokenBucket(20, 40), typing_bucket=TokenBucket(2, 4),
        )
        # Recovery offsets are part of the socket's contract with the client:
        # a client that asked for none gets no pid (and no extra argument).
        if plain:
            socket.pid = None
        socket.join(user_room(user_id))
        # The read models hold every membership change up to `start`: those rows are
        # fanned out only after they are projected (infrastructure/commit_feed.py).
        chat_ids = await self.service.chat_ids_of(user_id)
        for chat_id in chat_ids:
            socket.join(chat_room(chat_id, plain))
        socket.data["connection"] = await self.service.open_connection(user_id)
        socket.emit(ServerEvent.CONNECTED, Connected(user_id=user_id))
        offset = socket.recovery_offset
        if not plain and socket.recovery_pid and offset is not None and offset.isdigit():
            socket.recover()
            start = min(start, int(offset))
        await self._replay(socket, user_id, start, chat_ids)

    async def _replay(self, socket: Socket, user_id: str, after: int,
                      chat_ids: list[str]) -> None:
        """Sends the stored events of the user's chats after `after` that this
        node has already fanned out live (later ones reach the socket live), and
        applies the membership changes among them. The last check and the connect
        handler's return (which puts the socket in its rooms) have no await
        between them, so nothing is lost or sent twice at the seam."""
        page = 1000
        plain = socket.data["plain"]
        watched = list(chat_ids)  # and the chats the replay joins
        while True:
            if self.replay_skip.nothing_after(after, user_id, watched):
                return  # nothing of the user's was fanned out after `after`: no read
            before = self.fanned_out
            # This node delivers its commits before the read models hold them: the
            # feed is read once it has everything fanned out so far, never with a hole.
            if not await self.service.wait_projected(before):
                continue
            items = await self.service.feed(user_id, after, page)
            now = self.fanned_out
            for item in items:
                if item.position > now:
                    break
                offset = () if plain else (str(item.position),)
                if item.type in MEMBERSHIP and item.chat_id is not None:
                    # The user's own chat-added / chat-removed: rooms follow them.
                    room = chat_room(item.chat_id, plain)
                    if item.type == ServerEvent.CHAT_REMOVED:
                        socket.leave(room)
                    else:
                        socket.join(room)
                        watched.append(item.chat_id)
                    socket.emit(item.type, item.data, *offset)
                elif item.type in WITH_OFFSET:
                    socket.emit(item.type, item.data, *offset)
                after = item.position
            full = len(items) == page and items[-1].position <= now
            if before == now and not full:
                return

    async def on_disconnect(self, socket: Socket, reason: str) -> None:
        user_id = socket.data.get("user")
        if user_id is None:
            return
        for key in [k for k in self._typing_timers if k[1] == user_id]:
            if not self.ns.sockets_in(user_room(user_id)):
                self._stop_typing(*key)
        connection = socket.data.get("connection")
        if isinstance(connection, UUID):
            try:
                await self.service.close_connection(connection)
            except Unavailable:
                log.warning("could not record the end of connection %s", connection)

    # -- client events ---------------------------------------------------------
    def _erased(self, user_id: str) -> bool:
        """Their key's tombstone (cached 5 s per process, and never waited for on the
        loop once known: `Keyring.is_erased_cached`)."""
        return self.tokens.is_erased is not None and self.tokens.is_erased(user_id)

    def _guarded(self, name: str, handler: Handler) -> Callable[..., Awaitable[Ack | None]]:
        """Turns every failure into the contract's ack, or an `error` event when
        the packet asked for no ack. A client's mistake never escapes as a crash."""

        async def run(socket: Socket, *args: Any) -> Ack | None:
            wants_ack = ack_requested()
            if "user" not in socket.data:
                result = fail("not authenticated", "unauthorized")
            elif self._erased(socket.data["user"]):
                result = fail("this user was erased", "unauthorized")
                # Connected before the erasure: no more room events, once the ack is out.
                asyncio.get_running_loop().call_later(0.05, socket.disconnect)
            else:
                socket.data["active"] = time.monotonic()
                try:
                    result = await handler(socket, args)
                except PayloadError as e:
                    result = fail(str(e), "invalid")
                except DomainError as e:
                    result = fail(e.message, e.code)
                except Overloaded as e:
                    result = {**fail(str(e), "unavailable"), "retryAfterMs": e.retry_after_ms}
                except Unavailable as e:
                    result = fail(str(e), "unavailable")
                except Exception:
                    log.exception("%s failed", name)
                    result = fail("internal error", "unavailable")
            if wants_ack:
                return result
            if not result.get("success"):
                socket.emit(ServerEvent.ERROR, {k: v for k, v in result.items() if k != "success"})
            return None

        return run

    async def send_message(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        if not socket.data["send_bucket"].take():
            return fail("too many messages: slow down", "rate_limited")
        p: SendMessage = parse(SendMessage, args)
        # The ack goes out after the durable commit; new-message reaches the room
        # from the commit, ahead of the ack (`on_commit`, application/delivery.py).
        result = await self.service.send_message(
            socket.data["user"], p.chat_id, p.content, p.client_message_id, wait=False,
            reply_to=p.reply_to, thread_id=p.thread_id,
        )
        m = result.message
        return ok(messageId=m.id, seq=m.seq, createdAt=m.created_at)

    async def join_chat(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        p: JoinChat = parse(JoinChat, args)
        if not 1 <= p.limit <= MAX_JOIN_LIMIT:
            raise PayloadError(f"limit must be between 1 and {MAX_JOIN_LIMIT}")
        room = chat_room(str(parse_uuid(p.chat_id, "chatId")), socket.data["plain"])
        # Seamless like _replay: the ack holds what was fanned out before the
        # socket joins (no await between), later messages arrive live - each once.
        while True:
            before = self.fanned_out
            if not await self.service.wait_projected(before):
                continue
            messages, _ = await self.service.history(socket.data["user"], p.chat_id,
                                                     limit=p.limit)
            if self.fanned_out == before:
                break
        socket.join(room)
        return ok(messages=msgspec.to_builtins([m for m in messages if m.seq <= before]))

    async def leave_chat(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        p: ChatRef = parse(ChatRef, args)
        await self.service.chat_for(socket.data["user"], p.chat_id)
        socket.leave(chat_room(str(parse_uuid(p.chat_id, "chatId")), socket.data["plain"]))
        return ok()

    async def _typing(self, socket: Socket, args: tuple[Any, ...], started: bool) -> Ack:
        if not socket.data["typing_bucket"].take():
            return fail("too many typing events: slow down", "rate_limited")
        p: ChatRef = parse(ChatRef, args)
        user_id = socket.data["user"]
        # The rule of a send (member, not muted, not blocked), on the writer's chat.
        chat_id = await self.service.check_may_write(user_id, p.chat_id)
        await self.typing.publish(chat_id, user_id, started)
        return ok()

    async def typing_start(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        return await self._typing(socket, args, True)

    async def typing_stop(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        return await self._typing(socket, args, False)

    async def message_delivered(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        await self.receipt_turns.take()
        p: MessageRef = parse(MessageRef, args)
        await self.service.mark_delivered(socket.data["user"], p.chat_id, p.message_id,
                                          wait=False)
        return ok()

    async def message_read(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        await self.receipt_turns.take()
        p: MessageRef = parse(MessageRef, args)
        await self.service.mark_read(socket.data["user"], p.chat_id, p.message_id, wait=False)
        return ok()

    # -- messages over time: the ack after the durable commit, with the change's seq
    # (null when it changed nothing); the room gets the event from the feed.
    async def edit_message(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        if not socket.data["send_bucket"].take():
            return fail("too many messages: slow down", "rate_limited")
        p: EditMessage = parse(EditMessage, args)
        seq = await self.service.edit_message(socket.data["user"], p.chat_id, p.message_id,
                                              p.content, wait=False)
        return ok(seq=seq)

    async def delete_message(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        p: MessageRef = parse(MessageRef, args)
        seq = await self.service.delete_message(socket.data["user"], p.chat_id, p.message_id,
                                                wait=False)
        return ok(seq=seq)

    async def _reaction(self, socket: Socket, args: tuple[Any, ...], added: bool) -> Ack:
        if not socket.data["send_bucket"].take():
            return fail("too many reactions: slow down", "rate_limited")
        p: ReactionRef = parse(ReactionRef, args)
        seq = await self.service.set_reaction(socket.data["user"], p.chat_id, p.message_id,
                                              p.emoji, added, wait=False)
        return ok(seq=seq)

    async def add_reaction(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        return await self._reaction(socket, args, True)

    async def remove_reaction(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        return await self._reaction(socket, args, False)

    async def _pin(self, socket: Socket, args: tuple[Any, ...], pinned: bool) -> Ack:
        p: MessageRef = parse(MessageRef, args)
        seq = await self.service.set_pin(socket.data["user"], p.chat_id, p.message_id, pinned,
                                         wait=False)
        return ok(seq=seq)

    async def pin_message(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        return await self._pin(socket, args, True)

    async def unpin_message(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        return await self._pin(socket, args, False)

    async def ping(self, socket: Socket, args: tuple[Any, ...]) -> Ack:
        now = int(time.time() * 1000)
        socket.emit(ServerEvent.PONG, now)
        return ok(pong=now)

    # -- typing (ephemeral) ----------------------------------------------------
    def _on_typing(self, chat_id: str, user_id: str, started: bool) -> None:
        """Runs on the loop for typing events from this node and from others."""
        key = (chat_id, user_id)
        timer = self._typing_timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if started:
            # Typing expires by itself: a client that vanishes mid-word stops.
            self._typing_timers[key] = self.loop.call_later(
                TYPING_EXPIRES_S, self._stop_typing, chat_id, user_id
            )
        event = ServerEvent.USER_TYPING if started else ServerEvent.USER_STOPPED_TYPING
        self._emit_to_chat(chat_id, event, Typing(user_id=user_id, chat_id=chat_id),
                           skip_user=user_id)

    def _stop_typing(self, chat_id: str, user_id: str) -> None:
        self._on_typing(chat_id, user_id, False)

    # -- fan-out: the node's commits and the feed, in store order ----------------
    def on_commit(self, batch: Committed) -> None:
        """On the writer thread, before it settles the batch's acks (they follow on the
        loop): the node's own commit, delivered as soon as nothing comes before it."""
        self.loop.call_soon_threadsafe(self._committed, batch)

    def on_feed(self, rows: list[tuple[Any, ...]], upto: int) -> None:
        """On the projection thread after each cycle: the feed rows, complete up to `upto`."""
        if rows or upto > self._followed_upto:
            self._followed_upto = max(self._followed_upto, upto)
            self.loop.call_soon_threadsafe(self._followed, rows, upto)

    def _committed(self, batch: Committed) -> None:
        self.cursor.committed(batch)
        self.service.backpressure.delivered(self.cursor.delivered)

    def _followed(self, rows: list[Row], upto: int) -> None:
        self.cursor.followed(rows, upto)
        self.service.backpressure.delivered(self.cursor.delivered)
        self.service.backpressure.projected(upto)

    def _emit_to_chat(self, chat_id: str, event: str, payload: Any,
                      offset: str | None = None, skip_user: str | None = None) -> None:
        skip = [s.id for s in self.ns.sockets_in(user_room(skip_user))] if skip_user else None
        self.ns.emit(event, payload, room=chat_room(chat_id), skip_sid=skip, offset=offset)
        self.ns.emit(event, payload, room=chat_room(chat_id, plain=True), skip_sid=skip)

    def _emit_to_user(self, user_id: str, event: str, payload: Any, position: int) -> None:
        for socket in self.ns.sockets_in(user_room(user_id)):
            plain = socket.data.get("plain", False) or not self.recovery
            socket.emit(event, payload, *(() if plain else (str(position),)))

    def _fan_out(self, rows: Sequence[Row]) -> None:
        """Publishes rows in store order (the delivery cursor calls it)."""
        for listener in self._delivery_listeners:
            listener(rows)
        for position, type_, chat_id, user_id, payload_json in rows:
            self.replay_skip.fanned_out(position, type_, chat_id, user_id)
            try:
                if type_ in PRESENCE:  # names its user, for everyone who shares a chat
                    self.presence.changed(type_, msgspec.json.decode(payload_json))
                    continue
                if type_ in MEMBERSHIP and user_id is not None:
                    # chat-added / chat-removed: the user's sockets on this node join or
                    # leave the room before any later row reaches it.
                    self._move(user_id, chat_id, join=type_ == ServerEvent.CHAT_ADDED)
                    self._emit_to_user(user_id, type_, msgspec.Raw(payload_json), position)
                    continue
                if user_id is not None:
                    # A row for one user (a receipt of a chat above ESCHAT_RECEIPTS_ROOM_MAX
                    # members names the message's sender, the only one told).
                    self._emit_to_user(user_id, type_, msgspec.Raw(payload_json), position)
                    continue
                if type_ in WITH_OFFSET and chat_id is not None:
                    # The stored JSON goes into the packet as it is: each room's packet
                    # is encoded once, without parsing and re-serializing the payload.
                    offset = str(position) if self.recovery else None
                    self._emit_to_chat(chat_id, type_, msgspec.Raw(payload_json), offset=offset)
            except Exception:
                log.exception("fan-out of %s at %s failed", type_, position)

    def _move(self, user_id: str, chat_id: str, join: bool) -> None:
        for socket in self.ns.sockets_in(user_room(user_id)):
            room = chat_room(chat_id, socket.data.get("plain", False))
            if join:
                socket.join(room)
            else:
                socket.leave(room)

    def _publish_presence(self, event: str, payload: dict[str, Any],
                          chat_ids: list[str]) -> None:
        """To every other online user who shares a chat with this one, once: one uWS
        publish per room (the several-rooms emit dedupes in C++)."""
        rooms = [chat_room(c, plain) for c in chat_ids for plain in (False, True)]
        if rooms:
            skip = [s.id for s in self.ns.sockets_in(user_room(payload["userId"]))]
            self.ns.emit(event, payload, room=rooms, skip_sid=skip)

    # -- housekeeping ----------------------------------------------------------
    def close_idle(self) -> int:
        """Closes connections with no client activity for the inactivity timeout."""
        deadline = time.monotonic() - self.inactivity_timeout_s
        idle = [s for s in list(self.ns.sockets.values())
                if s.data.get("active", time.monotonic()) < deadline]
        for socket in idle:
            socket.disconnect(close=True)
        return len(idle)

