// Load generator process on the stock `socket.io-client` (npm), default options
// but `transports: ['websocket']`: what any JavaScript client does, recovery
// offsets included (eschat sends them to clients that do not opt out). It
// speaks the same stdin/stdout protocol as bench/loadgen.py (the raw-frame
// generator), so bench/scenarios.py drives either the same way:
//
//   node bench/peers/node/loadgen.mjs < job lines
//
// One JSON job line {httpUrl, mode, process, clients: [{auth, chatId?, roomSize}],
// contentSize, connectBatch}; it connects every client (a client is connected
// when it got `connected`) and prints `READY {firstConnectNs, lastConnectedNs}`;
// then per `GO {startNs, endNs, warmupS, drainS, quietS, window | ratePerSender,
// maxRatePerSender, lag, timelineS}` line it runs, drains and prints one JSON
// result line, until stdin closes. Times are CLOCK_MONOTONIC nanoseconds
// (process.hrtime), the clock of the Python processes too.
import readline from "node:readline";
import { io } from "socket.io-client";

const BUCKETS = 2400;
const LOG_STEP = Math.log(1.01);
const now = () => Number(process.hrtime.bigint());

function record(histogram, ns) {
  const us = Math.max(ns / 1000, 1);
  histogram[Math.min(BUCKETS - 1, Math.floor(Math.log(us) / LOG_STEP))] += 1;
}

function sparse(histogram) {
  const out = {};
  histogram.forEach((n, i) => { if (n) out[String(i)] = n; });
  return out;
}

function freshStats(run = {}) {
  const startNs = run.startNs ?? 0;
  const warmup = (run.warmupS ?? 0) * 1e9;
  return {
    sent: 0, acked: 0, refused: 0, refusals: {}, ackedInWindow: 0, expectedDeliveries: 0,
    deliveries: 0, deliveriesInWindow: 0, presence: 0, reconnects: 0, lost: 0,
    histogram: new Array(BUCKETS).fill(0), ackHistogram: new Array(BUCKETS).fill(0),
    window: [startNs + warmup, run.endNs ?? 0], lastFrameNs: 0,
    lag: Boolean(run.lag), lagAcks: {}, lagDeliveries: {},
    timelineNs: (run.timelineS ?? 0) * 1e9, startNs, ackTimeline: [], deliveryTimeline: [],
  };
}

const inWindow = (s, t) => s.window[0] <= t && t < s.window[1];

function bump(timeline, s, t) {
  if (!s.timelineNs || t < s.startNs) return;
  const i = Math.floor((t - s.startNs) / s.timelineNs);
  while (timeline.length <= i) timeline.push(0);
  timeline[i] += 1;
}

class Generator {
  constructor(job) {
    this.job = job;
    this.prefix = `p${job.process ?? 0}c`;
    this.padding = "x".repeat(Math.max(0, (job.contentSize ?? 0) - 40));
    this.stats = freshStats();
    this.clients = [];
    this.disconnected = 0;
    this.endNs = 0;
    this.windowSize = 0;
    this.minGapNs = 0;
  }

  async connectAll() {
    const specs = this.job.clients;
    const batch = this.job.connectBatch ?? 200;
    const firstConnectNs = now();
    for (let start = 0; start < specs.length; start += batch) {
      const chunk = specs.slice(start, start + batch).map((s, i) => new Client(this, start + i, s));
      await Promise.all(chunk.map((c) => c.ready));
      this.clients.push(...chunk);
    }
    return { firstConnectNs, lastConnectedNs: Math.max(0, ...this.clients.map((c) => c.readyNs)) };
  }

  async run(params) {
    this.endNs = params.endNs;
    this.windowSize = params.window ?? 0;
    const cap = params.maxRatePerSender ?? 0;
    this.minGapNs = cap ? Math.floor(1e9 / cap) : 0;
    this.stats = freshStats(params);
    for (const c of this.clients) c.reset();
    const senders = this.clients.filter((c) => c.chatId);
    await sleepUntil(params.startNs);
    const cpu0 = process.cpuUsage();
    const wall0 = now();
    const rate = params.ratePerSender ?? 0;
    if (rate) {
      senders.forEach((c, i) => c.fixedRate(params.startNs, 1e9 / rate, i / Math.max(1, senders.length)));
    } else {
      for (const c of senders) for (let k = 0; k < this.windowSize; k++) c.sendPaced();
    }
    await sleepUntil(this.endNs);
    const cpu = process.cpuUsage(cpu0);
    const wallS = (now() - wall0) / 1e9;
    const deadline = now() + (params.drainS ?? 10) * 1e9;
    const quiet = (params.quietS ?? 1) * 1e9;
    while (now() < deadline) {
      const outstanding = senders.reduce((n, c) => n + c.pending.size, 0);
      if (!outstanding && now() - this.stats.lastFrameNs > quiet) break;
      await sleep(50);
    }
    const s = this.stats;
    return {
      clients: this.clients.length, senders: senders.length, sent: s.sent, acked: s.acked,
      refused: s.refused, refusals: s.refusals,
      unacked: senders.reduce((n, c) => n + c.pending.size, 0),
      ackedInWindow: s.ackedInWindow, deliveries: s.deliveries,
      deliveriesInWindow: s.deliveriesInWindow, expectedDeliveries: s.expectedDeliveries,
      windowS: (s.window[1] - s.window[0]) / 1e9,
      histogram: sparse(s.histogram), ackHistogram: sparse(s.ackHistogram),
      cpuS: (cpu.user + cpu.system) / 1e6, wallS, disconnected: this.disconnected,
      presence: s.presence, reconnects: s.reconnects, lost: s.lost, ackTimeline: s.ackTimeline, deliveryTimeline: s.deliveryTimeline,
      ...(s.lag ? { lagAcks: s.lagAcks, lagDeliveries: s.lagDeliveries } : {}),
    };
  }
}

class Client {
  constructor(gen, index, spec) {
    this.gen = gen;
    this.tag = `${gen.prefix}${index}|`;
    this.chatId = spec.chatId ?? null;
    this.roomSize = spec.roomSize ?? 0;
    this.nextAck = 0;
    this.pending = new Map();
    this.nextAllowed = 0;
    this.stopped = false;
    this.readyNs = 0;
    const socket = io(gen.job.httpUrl, { transports: ["websocket"], auth: spec.auth });
    this.socket = socket;
    this.ready = new Promise((resolve, reject) => {
      socket.once("connected", () => { this.readyNs = now(); resolve(); });
      socket.once("connect_error", (e) => reject(new Error(`refused: ${e.message}`)));
    });
    socket.on("disconnect", () => { gen.disconnected += 1; });
    // The stock client reconnects by itself; sends in flight then are lost (no
    // ack ever comes), so a closed-loop sender starts again from the new connection.
    socket.on("connected", () => {
      if (!this.seen) {
        this.seen = true;  // the first `connected`: see this.ready
        return;
      }
      const s = gen.stats;
      s.reconnects += 1;
      s.lost += this.pending.size;
      this.pending.clear();
      if (gen.windowSize && this.chatId && !this.stopped && now() < gen.endNs) this.sendPaced();
    });
    socket.on("new-message", (message) => this.onNewMessage(message));
    socket.on("user-online", () => { gen.stats.presence += 1; gen.stats.lastFrameNs = now(); });
  }

  reset() {
    this.stopped = false;
    this.nextAllowed = 0;
    this.pending.clear();
  }

  onNewMessage(message) {
    const t = now();
    const s = this.gen.stats;
    s.lastFrameNs = t;
    s.deliveries += 1;
    bump(s.deliveryTimeline, s, t);
    const content = String(message?.content ?? "");
    const bar = content.indexOf("|");
    const end = content.indexOf("|", bar + 1);
    if (s.lag) {
      const key = content.slice(0, end);
      (s.lagDeliveries[key] ??= []).push(Math.round((t - s.startNs) / 1000));
    }
    if (inWindow(s, t)) {
      s.deliveriesInWindow += 1;
      if (content.slice(0, bar + 1) !== this.tag) record(s.histogram, t - Number(content.slice(bar + 1, end)));
    }
  }

  onAck(id, ack) {
    const sentNs = this.pending.get(id);
    if (sentNs === undefined) return;
    this.pending.delete(id);
    const t = now();
    const s = this.gen.stats;
    s.lastFrameNs = t;
    if (ack && ack.success === true) {
      s.acked += 1;
      s.expectedDeliveries += this.roomSize;
      bump(s.ackTimeline, s, t);
      if (inWindow(s, t)) {
        s.ackedInWindow += 1;
        record(s.ackHistogram, t - sentNs);
        if (s.lag) s.lagAcks[`${this.tag}${sentNs}`] = Math.round((t - s.startNs) / 1000);
      }
    } else {
      s.refused += 1;
      const code = ack?.code ?? "?";
      s.refusals[code] = (s.refusals[code] ?? 0) + 1;
    }
    if (this.gen.windowSize) this.sendPaced();
  }

  send() {
    if (this.stopped || !this.socket.connected) return;
    const t = now();
    if (t >= this.gen.endNs) {
      this.stopped = true;
      return;
    }
    const id = ++this.nextAck;
    this.pending.set(id, t);
    this.socket.emit("send-message", {
      chatId: this.chatId, content: `${this.tag}${t}|${this.gen.padding}`,
      clientMessageId: `${this.tag}${id}`,
    }, (ack) => this.onAck(id, ack));
    this.gen.stats.sent += 1;
  }

  sendPaced() {
    const t = now();
    const gap = this.gen.minGapNs;
    if (t >= this.nextAllowed) {
      this.nextAllowed = t + gap;
      this.send();
    } else {
      const at = this.nextAllowed;
      this.nextAllowed += gap;
      setTimeout(() => this.send(), (at - t) / 1e6);
    }
  }

  fixedRate(startNs, intervalNs, phase) {
    let at = startNs + phase * intervalNs;
    const tick = () => {
      this.send();
      at += intervalNs;
      if (!this.stopped) setTimeout(tick, Math.max(0, (at - now()) / 1e6));
    };
    setTimeout(tick, Math.max(0, (at - now()) / 1e6));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sleepUntil = (ns) => sleep(Math.max(0, (ns - now()) / 1e6));

const lines = readline.createInterface({ input: process.stdin });
const queue = [];
let waiting = null;
lines.on("line", (line) => { if (waiting) { waiting(line); waiting = null; } else queue.push(line); });
lines.on("close", () => process.exit(0));
const nextLine = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => { waiting = r; }));

const job = JSON.parse(await nextLine());
const gen = new Generator(job);
let ready;
try {
  ready = await gen.connectAll();
} catch (e) {
  console.log(`FAILED ${e.message}`);
  process.exit(0);
}
console.log(`READY ${JSON.stringify(ready)}`);
for (;;) {
  const line = await nextLine();
  if (job.mode === "idle") continue;
  if (line.startsWith("GO ")) console.log(JSON.stringify(await gen.run(JSON.parse(line.slice(3)))));
}
