// Peer server for eschat's bench, on the `socket.io` npm package. It speaks the
// bench's chat protocol with the minimum it needs: the CONNECT auth carries
// {userId, rooms}; `send-message` {chatId, content, clientMessageId} is
// broadcast as `new-message` to the room (sender included, as eschat does) and
// acked {success, messageId, seq, createdAt}.
//
//   node server.mjs --port 4001 --store none|pg [--database-url postgresql://...]
//
// --store pg: one INSERT per message through a pg.Pool, then the broadcast,
// then the ack (the design eschat replaces). GET /history?chat=ID&limit=50
// [&before=SEQ] answers a page with one SELECT (pg only). Prints READY.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

const { values: opts } = parseArgs({
  options: {
    port: { type: "string", default: "4001" },
    store: { type: "string", default: "none" },
    "database-url": { type: "string", default: "postgresql://postgres@127.0.0.1:5432/eschat_bench" },
  },
});
if (!["none", "pg"].includes(opts.store)) {
  console.error(`--store must be none or pg, not ${opts.store}`);
  process.exit(2);
}

let pool = null;
if (opts.store === "pg") {
  const pg = (await import("pg")).default;
  pool = new pg.Pool({ connectionString: opts["database-url"], max: 10 });
  await pool.query(`CREATE TABLE IF NOT EXISTS bench_node_messages (
    seq bigserial PRIMARY KEY, id uuid NOT NULL, chat_id text NOT NULL,
    sender_id text NOT NULL, content text NOT NULL, client_message_id text,
    created_at timestamptz NOT NULL)`);
  await pool.query(`CREATE INDEX IF NOT EXISTS bench_node_messages_chat
    ON bench_node_messages (chat_id, seq)`);
}

let nextSeq = 0;

async function history(url, res) {
  if (!pool) {
    res.writeHead(404).end();
    return;
  }
  const chat = url.searchParams.get("chat");
  const limit = Math.min(200, Number(url.searchParams.get("limit") ?? 50));
  const before = url.searchParams.get("before");
  const { rows } = await pool.query(
    `SELECT seq, id, chat_id, sender_id, content, client_message_id, created_at
       FROM bench_node_messages
      WHERE chat_id = $1 AND ($2::bigint IS NULL OR seq < $2)
      ORDER BY seq DESC LIMIT $3`,
    [chat, before, limit],
  );
  const messages = rows.reverse().map((r) => ({
    id: r.id, chatId: r.chat_id, senderId: r.sender_id, content: r.content,
    seq: Number(r.seq), createdAt: r.created_at.toISOString(),
    clientMessageId: r.client_message_id,
  }));
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ messages }));
}

const http = createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (url.pathname === "/health") {
    res.writeHead(200).end("ok");
  } else if (url.pathname === "/history") {
    history(url, res).catch((e) => res.writeHead(500).end(String(e)));
  } else {
    res.writeHead(404).end();
  }
});

const io = new Server(http, { cors: { origin: "*" } });

io.on("connection", (socket) => {
  const { userId, rooms } = socket.handshake.auth ?? {};
  socket.data.userId = String(userId ?? socket.id);
  for (const room of rooms ?? []) socket.join(String(room));
  socket.emit("connected", { userId: socket.data.userId });

  socket.on("send-message", async (payload, ack) => {
    const reply = typeof ack === "function" ? ack : () => {};
    const { chatId, content, clientMessageId } = payload ?? {};
    if (typeof chatId !== "string" || typeof content !== "string" || !socket.rooms.has(chatId)) {
      reply({ success: false, error: "invalid message", code: "invalid" });
      return;
    }
    const message = {
      id: randomUUID(), chatId, senderId: socket.data.userId, content,
      seq: 0, createdAt: new Date().toISOString(), deliveryStatus: "sent",
      clientMessageId: clientMessageId ?? null,
    };
    try {
      if (pool) {
        const { rows } = await pool.query(
          `INSERT INTO bench_node_messages
             (id, chat_id, sender_id, content, client_message_id, created_at)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq`,
          [message.id, chatId, message.senderId, content, message.clientMessageId,
           message.createdAt],
        );
        message.seq = Number(rows[0].seq);
      } else {
        message.seq = ++nextSeq;
      }
    } catch (e) {
      reply({ success: false, error: String(e), code: "unavailable" });
      return;
    }
    io.to(chatId).emit("new-message", message);
    reply({ success: true, messageId: message.id, seq: message.seq, createdAt: message.createdAt });
  });
});

http.listen(Number(opts.port), "127.0.0.1", () => console.log("READY"));
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    io.close();
    (pool ? pool.end() : Promise.resolve()).finally(() => process.exit(0));
  });
}
