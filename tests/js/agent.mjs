// A stock socket.io-client driven by the Python tests over stdin/stdout.
// Commands are JSON lines; everything the client sees is printed as JSON lines.
import { io } from "socket.io-client";
import readline from "node:readline";

const url = process.argv[2];
let socket = null;
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const commands = {
  connect(c) {
    socket = io(url, c.opts || {});
    socket.onAny((event, ...args) => out({ type: "event", event, args }));
    socket.on("connect", () => out({ type: "connect", id: socket.id, sid: socket.io.engine.id,
                                     recovered: socket.recovered }));
    socket.on("connect_error", (e) => out({ type: "connect_error", message: e.message }));
    socket.on("disconnect", (reason) => out({ type: "disconnect", reason }));
    socket.io.engine?.on?.("upgrade", (t) => out({ type: "upgrade", transport: t.name }));
    socket.io.on("open", () =>
      socket.io.engine.on("upgrade", (t) => out({ type: "upgrade", transport: t.name })));
  },
  async emit(c) {
    try {
      const args = c.payload === undefined ? [] : [c.payload];
      const ack = await socket.timeout(c.timeout || 10000).emitWithAck(c.event, ...args);
      out({ type: "ack", id: c.id, ack });
    } catch (e) {
      out({ type: "ack", id: c.id, error: String(e) });
    }
  },
  send(c) {
    socket.emit(c.event, ...(c.payload === undefined ? [] : [c.payload]));
    out({ type: "sent", id: c.id });
  },
  // A network drop: the transport closes, the client keeps its pid and offset.
  drop(c) {
    socket.io.reconnection(false);
    socket.io.engine.close();
    out({ type: "dropped", id: c.id });
  },
  reconnect(c) {
    socket.io.reconnection(true);
    socket.connect();
    out({ type: "reconnecting", id: c.id });
  },
  state(c) {
    out({ type: "state", id: c.id, connected: socket.connected, recovered: socket.recovered,
          transport: socket.io.engine?.transport?.name });
  },
  disconnect(c) {
    socket.disconnect();
    out({ type: "disconnected", id: c.id });
  },
  exit() {
    process.exit(0);
  },
};

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const c = JSON.parse(line);
  Promise.resolve(commands[c.cmd](c)).catch((e) => out({ type: "failure", id: c.id, error: String(e) }));
});
