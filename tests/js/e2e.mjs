// Real socket.io-client 4.x scenarios, driven by tests/e2e_protocol (pytest).
// usage: node e2e.mjs <scenario> <url> <transports: default|websocket|polling>
// Prints one JSON object on stdout; exits non-zero on failure.
import { io } from "socket.io-client";

const [scenario, url, transportsArg] = process.argv.slice(2);
const transports =
  transportsArg === "websocket" ? ["websocket"] : transportsArg === "polling" ? ["polling"] : undefined;

function client(auth, extra = {}) {
  return io(url + "/e2e", { auth, transports, forceNew: true, reconnectionDelay: 100, ...extra });
}
function once(socket, event) {
  return new Promise((resolve) => socket.once(event, (...args) => resolve(args)));
}
function withTimeout(promise, ms, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error("timeout: " + what)), ms)),
  ]);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const scenarios = {
  async basic() {
    const a = client({ user: "alice", token: "t" });
    const [welcome] = await withTimeout(once(a, "welcome"), 5000, "welcome");
    const ackArgs = (...args) => withTimeout(new Promise((resolve) => a.emit(...args, (...r) => resolve(r))), 5000, "ack");
    const echo = await ackArgs("echo", 1, "two", { three: [true] });
    const [bin, nested] = await ackArgs("echo", Buffer.from([1, 2, 3]), { nested: Buffer.from([4]) });
    await sleep(400); // let the default client finish its polling -> websocket upgrade
    const transport = a.io.engine.transport.name;
    const b = client({ user: "bob" });
    await withTimeout(once(b, "welcome"), 5000, "welcome b");
    await a.timeout(5000).emitWithAck("join", "room1");
    await b.timeout(5000).emitWithAck("join", "room1");
    const gotA = [];
    const gotB = [];
    a.on("room-message", (...args) => gotA.push(args));
    b.on("room-message", (...args) => gotB.push(args));
    const offset1 = await a.timeout(5000).emitWithAck("broadcast", "room1", { n: 1 });
    const offset2 = await a.timeout(5000).emitWithAck("broadcast", "room1", { n: 2 }, "skip-self");
    const offset3 = await b.timeout(5000).emitWithAck("broadcast", "room1", Buffer.from([9, 9]));
    await sleep(300);
    const question = new Promise((resolve) => a.once("question", (v, ack) => { ack("answer to " + v); resolve(v); }));
    const serverAck = await a.timeout(5000).emitWithAck("server-ack", "q1");
    await question;
    a.close();
    b.close();
    return {
      welcome, echo, binary: [Array.from(bin), Array.from(nested.nested)], transport,
      gotA: gotA.map((x) => x.map((v) => (Buffer.isBuffer(v) ? Array.from(v) : v))),
      gotB: gotB.map((x) => x.map((v) => (Buffer.isBuffer(v) ? Array.from(v) : v))),
      offsets: [offset1, offset2, offset3], serverAck,
    };
  },

  async binary() {
    const a = client({});
    await withTimeout(once(a, "welcome"), 5000, "welcome");
    const buf = Buffer.alloc(100000, 7);
    const args = await withTimeout(new Promise((resolve) => {
      a.emit("echo", buf, { inner: [Buffer.from("xyz")] }, (...r) => resolve(r));
    }), 5000, "binary echo");
    a.close();
    return { len: args[0].length, allSevens: args[0].every((b) => b === 7), inner: args[1].inner[0].toString() };
  },

  async refused() {
    const a = client({ token: "bad" }, { reconnection: false });
    const [err] = await withTimeout(once(a, "connect_error"), 5000, "connect_error");
    a.close();
    return { message: err.message, connected: a.connected };
  },

  async recovery() {
    const a = client({ user: "carol" });
    await withTimeout(once(a, "welcome"), 5000, "welcome");
    const firstPid = a._pid;
    await a.timeout(5000).emitWithAck("join", "r-rec");
    const seen = new Promise((resolve) => a.once("room-message", (...args) => resolve(args)));
    await a.timeout(5000).emitWithAck("broadcast", "r-rec", "before-drop");
    const [payload, offset] = await withTimeout(seen, 5000, "room-message");
    const replay = new Promise((resolve) => a.once("replay", (o) => resolve(o)));
    const reconnected = once(a.io, "reconnect");
    a.emit("drop-me");
    await withTimeout(reconnected, 5000, "reconnect");
    const replayedOffset = await withTimeout(replay, 5000, "replay");
    const result = { firstPid, secondPid: a._pid, recovered: a.recovered, payload, offset, replayedOffset };
    a.close();
    return result;
  },

  async kicked() {
    const a = client({});
    await withTimeout(once(a, "welcome"), 5000, "welcome");
    const reason = once(a, "disconnect");
    a.emit("kick-me");
    const [why] = await withTimeout(reason, 5000, "disconnect");
    await sleep(300);
    return { reason: why, active: a.active };
  },
};

try {
  const result = await withTimeout(scenarios[scenario](), 20000, scenario);
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
} catch (error) {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
}
