"""History, sending and read marks of one chat."""

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, JSONBody, QueryParameter

from application.service import MAX_PAGE
from application.views import MessageView
from interfaces.rest.auth import SECURITY
from interfaces.rest.deps import Me, Service
from interfaces.rest.errors import responses
from interfaces.rest.schemas import HistoryPage, ReadRequest, SendMessageRequest

REPLAYED = "Idempotent-Replayed"
# An absent cursor is "no bound": describe it as an optional integer, not as `null`.
OPTIONAL_SEQ = {"oneOf": None, "type": "integer", "minimum": 0}
AS_OF_DOC = ("time travel: the answer as the chat stood right after this store position"
             " (0 to the head), for a member then")
AsOf = Annotated[int | None, QueryParameter(query="asOf", ge=0, required=False,
                                            description=AS_OF_DOC, schema_extra=OPTIONAL_SEQ)]


class MessageController(Controller):
    path = "/api/chats/{chat_id:uuid}"
    tags = ["messages"]
    security = SECURITY

    @get("/messages", responses=responses(400, 401, 403, 404, 503))
    async def history(
        self,
        chat_id: FromPath[UUID],
        me: Me,
        service: Service,
        before: Annotated[int | None, QueryParameter(
            ge=0, required=False, description="exclusive upper seq", schema_extra=OPTIONAL_SEQ
        )] = None,
        after: Annotated[int | None, QueryParameter(
            ge=0, required=False, description="exclusive lower seq", schema_extra=OPTIONAL_SEQ
        )] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 50,
        thread_id: Annotated[UUID | None, QueryParameter(
            query="threadId", required=False, description="the root of a thread: its page",
            schema_extra={"oneOf": None, "type": "string", "format": "uuid"})] = None,
        as_of: AsOf = None,
    ) -> HistoryPage:
        """A page of messages, oldest first, with receipts: of the main timeline, or
        with `threadId` of that thread. Without `after` the page ends at `before` (or
        the newest); with `after` it starts right after it. `nextBefore` is the seq of
        the page's oldest message while older ones exist. With `asOf`: as the page
        stood right after that position (contents before later edits and deletes,
        reactions, pins, receipts then), only of the caller's time as a member."""
        if as_of is not None:
            messages, next_before = await service.history_as_of(me, chat_id, as_of, before,
                                                                after, limit, thread_id)
            return HistoryPage(messages=messages, next_before=next_before)
        messages, next_before = await service.history(me, chat_id, before, after, limit,
                                                      thread_id)
        return HistoryPage(messages=messages, next_before=next_before)

    @post("/messages", status_code=201, responses=responses(400, 401, 403, 404, 503),
          response_headers=[ResponseHeader(
              name=REPLAYED, required=False, documentation_only=True,
              description="`true` when this answers a retry (same clientMessageId)")])
    async def send(
        self, chat_id: FromPath[UUID], data: JSONBody[SendMessageRequest], me: Me, service: Service
    ) -> Response[MessageView]:
        """Stores a message; answers once it is durably stored. A retry with the same
        `clientMessageId` stores nothing and answers with the first message."""
        result = await service.send_message(me, chat_id, data.content, data.client_message_id,
                                            reply_to=data.reply_to, thread_id=data.thread_id)
        headers = {REPLAYED: "true"} if result.duplicate else {}
        return Response(result.message, status_code=201, headers=headers)

    @post("/read", status_code=204, responses=responses(400, 401, 403, 404, 503))
    async def read(
        self, chat_id: FromPath[UUID], data: JSONBody[ReadRequest], me: Me, service: Service
    ) -> None:
        """Marks the message and every earlier one of the chat read for the caller."""
        await service.mark_read(me, chat_id, data.message_id)
