// ChatClient: the one writer of the Store. It speaks Socket.IO (the stock
// socket.io-client, with connection state recovery) and REST, and keeps the
// promises the contract asks of a client: every message received is acked as
// delivered, whether its chat is open or not; what is on screen is marked read.

import { io, type Socket } from "socket.io-client";
import { Api, ApiError } from "./api";
import type { Credentials } from "./session";
import { Store } from "./store";
import type { Ack, Ban, Chat, Message, Presence, Receipt, Report } from "./types";

export const MAX_CONTENT = 4000;
const KEEPALIVE_MS = 20_000; // the server closes connections idle for 60 s
const TYPING_RENEW_MS = 4_000; // typing expires on the server after 6 s
const TYPING_IDLE_MS = 3_000;
const TYPING_BURST = 3; // the server's burst is 4
const TYPING_PER_MS = 1.5 / 1000; // the server's rate is 2/s
const SEND_TIMEOUT_MS = 10_000;
const PRESENCE_BATCH = 200; // GET /api/presence takes at most 200 ids

function newClientMessageId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // Plain http on a LAN address is not a secure context: no randomUUID there.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ChatClient {
  readonly store: Store;
  readonly api: Api;
  private socket: Socket;
  private delivered = new Set<string>();
  private flushing = false;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private typingChat: string | null = null;
  private typingSince = 0;
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private typingTokens = TYPING_BURST;
  private typingRefilled = Date.now();
  private keepalive: ReturnType<typeof setInterval> | undefined;
  private stopped = false;

  constructor(readonly credentials: Credentials, private signedOut: (why: string) => void) {
    this.store = new Store(credentials.userId);
    this.api = new Api(() => this.credentials.token,
      () => this.signedOut("Your session has ended. Log in again."));
    // The same origin serves Socket.IO; the client keeps the pid and the last
    // offset and sends them on reconnect, so the server replays what was missed.
    this.socket = io({ auth: (cb) => cb({ token: this.credentials.token }), autoConnect: false });
    this.wire();
  }

  get me(): string {
    return this.credentials.userId;
  }

  start(): void {
    addEventListener("online", this.onNetworkChange);
    addEventListener("offline", this.onNetworkChange);
    this.onNetworkChange();
    this.socket.connect();
    this.keepalive = setInterval(() => {
      if (this.socket.connected) this.socket.volatile.emit("ping");
    }, KEEPALIVE_MS);
    void this.refreshChats();
  }

  stop(): void {
    this.stopped = true;
    removeEventListener("online", this.onNetworkChange);
    removeEventListener("offline", this.onNetworkChange);
    clearInterval(this.keepalive);
    clearTimeout(this.typingTimer);
    this.socket.disconnect();
  }

  // -- the socket ----------------------------------------------------------------
  private wire(): void {
    const s = this.socket;
    s.on("connect", () => {
      const reconnect = this.store.everConnected;
      if (!reconnect) performance.mark("eschat:connected");
      this.showConnection();
      if (reconnect) this.caughtUp(s.recovered);
      // Presence is not replayed: what changed before this socket was in its rooms is
      // only in GET /api/presence, asked again now that live changes reach us.
      else if (this.store.chatsLoaded) {
        void this.loadPresence([...this.store.chats.values()].flatMap((c) => c.memberIds));
      }
      void this.flushOutbox();
    });
    s.on("disconnect", (reason) => {
      this.showConnection();
      // The server said goodbye (e.g. it closed an idle connection): the
      // client does not retry that by itself.
      if (reason === "io server disconnect" && !this.stopped) {
        setTimeout(() => { if (!this.stopped) s.connect(); }, 1000);
      }
    });
    s.on("connect_error", (err) => {
      this.showConnection();
      if (err.message === "Authentication failed") {
        this.signedOut("Your session has ended. Log in again.");
      }
    });
    s.on("new-message", (m: Message) => this.received(m));
    s.on("message-delivered", (r: Receipt) => this.receipt("delivered", r));
    s.on("message-read", (r: Receipt) => this.receipt("read", r));
    s.on("user-typing", (t: { userId: string; chatId: string }) => this.typing(t, true));
    s.on("user-stopped-typing", (t: { userId: string; chatId: string }) => this.typing(t, false));
    s.on("user-online", (p: { userId: string }) => this.store.setOnline(p.userId, true));
    s.on("user-offline", (p: { userId: string; lastSeen?: string | null }) =>
      this.store.setOnline(p.userId, false, p.lastSeen ?? null));
    // From "Chats people run" (CONTRACT.md); harmless before the server sends them.
    s.on("chat-added", (p: { chat: Chat }) => {
      this.store.upsertChat(p.chat);
      void this.loadPresence(p.chat.memberIds);
    });
    s.on("chat-removed", (p: { chatId: string; reason?: string }) => this.removed(p.chatId, p.reason));
    // "Messages over time" and "Chats people run": room events that change what is shown.
    s.on("message-edited", (e: { chatId: string; messageId: string; content: string; editedAt: string }) =>
      this.store.edited(e));
    s.on("message-deleted", (e: { chatId: string; messageId: string }) => this.store.deleted(e));
    type Reaction = { chatId: string; messageId: string; userId: string; emoji: string };
    s.on("reaction-added", (e: Reaction) => this.store.reacted(e, true));
    s.on("reaction-removed", (e: Reaction) => this.store.reacted(e, false));
    s.on("message-pinned", (e: { chatId: string; messageId: string }) => this.store.pinnedChanged(e, true));
    s.on("message-unpinned", (e: { chatId: string; messageId: string }) => this.store.pinnedChanged(e, false));
    s.on("chat-updated", (p: { chat: Chat }) => this.store.upsertChat(p.chat));
    s.on("member-joined", (p: { chatId: string; userId: string }) => {
      this.store.memberJoined(p.chatId, p.userId);
      void this.loadPresence([p.userId]);
    });
    s.on("member-left", (p: { chatId: string; userId: string; reason?: string }) => {
      if (p.userId === this.me) this.removed(p.chatId, p.reason);
      else this.store.memberLeft(p.chatId, p.userId);
    });
    s.on("admins-changed", (p: { chatId: string; admins: string[]; ownerId: string | null }) =>
      this.store.adminsChanged(p.chatId, p.admins, p.ownerId));
    s.on("member-muted", (p: { chatId: string; userId: string; until: string | null }) =>
      this.store.setMuted(p.chatId, p.userId, true, p.until));
    s.on("member-unmuted", (p: { chatId: string; userId: string }) =>
      this.store.setMuted(p.chatId, p.userId, false, null));
    // A refused event that asked for no ack (a late delivery ack, a typing
    // event over the limit): nothing the person can act on.
    s.on("error", (e: { error?: string; code?: string }) =>
      console.warn(`eschat: the server refused an event: ${e?.error} (${e?.code})`));
  }

  private readonly onNetworkChange = (): void => this.showConnection();

  private showConnection(): void {
    if (!navigator.onLine) this.store.setConnection("offline");
    else this.store.setConnection(this.socket.connected ? "connected" : "reconnecting");
  }

  /** Back after a drop. Recovered: the server replayed every stored event we
   * missed. Either way presence and typing are not stored, so ask again; and
   * without recovery, reload what is on screen. */
  private caughtUp(recovered: boolean): void {
    console.info(`eschat: reconnected (recovered: ${recovered})`);
    for (const chatId of this.store.typing.keys()) {
      for (const userId of this.store.typingIn(chatId)) this.store.setTyping(chatId, userId, false);
    }
    void this.refreshChats();
    if (recovered) return;
    for (const [chatId, timeline] of this.store.timelines) {
      if (chatId === this.store.openChatId) void this.loadLatest(chatId);
      else if (timeline.loaded) this.store.setTimelineState(chatId, { loaded: false });
    }
  }

  private received(m: Message): void {
    if (!this.store.chats.has(m.chatId)) void this.refreshChats(); // a chat we did not know yet
    // A message ends its sender's typing, even when their typing-stop was lost or refused.
    if (this.store.typingIn(m.chatId).includes(m.senderId)) this.store.setTyping(m.chatId, m.senderId, false);
    this.store.addMessage(m);
    this.ackDelivery(m);
  }

  private receipt(kind: "delivered" | "read", r: Receipt): void {
    const known = this.store.applyReceipt(kind, r);
    // My own read on another device, of a message not loaded here: ask for the counts.
    if (!known && kind === "read" && r.userId === this.me) void this.refreshChats();
  }

  private typing(t: { userId: string; chatId: string }, on: boolean): void {
    if (t.userId === this.me) return;
    if (on && !this.store.chats.has(t.chatId)) void this.refreshChats();
    this.store.setTyping(t.chatId, t.userId, on);
  }

  private removed(chatId: string, reason?: string): void {
    const chat = this.store.chats.get(chatId);
    this.store.removeChat(chatId);
    if (this.store.openChatId === chatId) location.hash = "#/";
    if (chat && reason && reason !== "left") {
      this.store.setNotice(`You were ${reason} from ${chat.title || "a chat"}.`);
    }
  }

  private ackDelivery(m: Message): void {
    if (m.senderId === this.me || this.delivered.has(m.id)) return;
    if (m.deliveredTo?.includes(this.me) || m.readBy?.includes(this.me)) return;
    this.delivered.add(m.id);
    this.socket.emit("message-delivered", { chatId: m.chatId, messageId: m.id });
  }

  // -- chats ---------------------------------------------------------------------
  /** GET /api/chats, at most one in flight; calls meanwhile get one more after it. */
  refreshChats(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        for (let lagging = 0; ; ) {
          this.refreshAgain = false;
          const chats = await this.api.chats();
          this.store.setChats(chats);
          for (const chat of chats) if (chat.lastMessage) this.ackDelivery(chat.lastMessage);
          await this.loadPresence(chats.flatMap((c) => c.memberIds));
          // A message of a chat the list does not show yet: the list lags the
          // feed by a moment, ask again (a few times).
          if (!this.refreshAgain && this.store.hasUnplaced() && lagging++ < 5) {
            await sleep(300);
            this.refreshAgain = true;
          }
          if (!this.refreshAgain) break;
        }
      } catch (err) {
        this.store.setNotice(`Could not load your chats: ${(err as Error).message}`);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private async loadPresence(userIds: string[]): Promise<void> {
    const ids = [...new Set(userIds)].filter((u) => u !== this.me);
    for (let i = 0; i < ids.length; i += PRESENCE_BATCH) {
      const askedAt = Date.now();
      const batch: Presence[] = await this.api.presence(ids.slice(i, i + PRESENCE_BATCH));
      this.store.setPresence(batch, askedAt);
    }
  }

  async createChat(memberIds: string[], title: string): Promise<string> {
    const chat = await this.api.createChat(memberIds, title);
    this.store.upsertChat({ ...chat, unreadCount: 0, lastMessage: null });
    void this.loadPresence(chat.memberIds);
    return chat.id;
  }

  async addMember(chatId: string, userId: string): Promise<void> {
    const chat = await this.api.addMember(chatId, userId);
    this.store.upsertChat(chat);
    await this.loadPresence([userId]);
  }

  /** The direct chat with one user (opened before or now). */
  async openDirect(userId: string): Promise<string> {
    const chat = await this.api.openDirect(userId);
    this.store.upsertChat(chat);
    void this.loadPresence(chat.memberIds);
    return chat.id;
  }

  /** Joins a chat by invite code; the reasons it may not, in words. */
  async acceptInvite(code: string): Promise<string> {
    let chat: Chat;
    try {
      chat = await this.api.acceptInvite(code);
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      throw new Error(status === 404 ? "That invite link does not exist (or was revoked)."
        : status === 410 ? "That invite link has expired or been used up."
        : status === 403 ? "You cannot join that chat: you are banned from it."
        : `Could not join: ${(err as Error).message}`);
    }
    this.store.upsertChat(chat);
    void this.loadPresence(chat.memberIds);
    return chat.id;
  }

  async leave(chatId: string): Promise<void> {
    await this.api.leave(chatId);
    this.store.removeChat(chatId);
  }

  async removeMember(chatId: string, userId: string): Promise<void> {
    await this.api.removeMember(chatId, userId);
    this.store.memberLeft(chatId, userId);
  }

  async updateChat(chatId: string, change: { title?: string; description?: string }): Promise<void> {
    this.store.upsertChat(await this.api.updateChat(chatId, change));
  }

  /** What an admin sees besides the members: the mutes in force (kept in the
   * store, which live events update) and the bans (returned). */
  async loadModeration(chatId: string): Promise<{ bans: Ban[]; reports: Report[] }> {
    const [mutes, bans, reports] = await Promise.all(
      [this.api.mutes(chatId), this.api.bans(chatId), this.api.reports(chatId)]);
    this.store.setMutes(chatId, mutes);
    return { bans, reports };
  }

  /** The chat as the server has it now (roles after an admin change, for one). */
  async reloadChat(chatId: string): Promise<void> {
    this.store.upsertChat(await this.api.chat(chatId));
  }

  // -- a message's actions ("Messages over time"), each an acked Socket.IO event ------
  private async act(event: string, payload: Record<string, unknown>): Promise<void> {
    if (!this.socket.connected) throw new Error("Not connected. Try again when the connection is back.");
    let ack: Ack;
    try {
      ack = await this.socket.timeout(SEND_TIMEOUT_MS).emitWithAck(event, payload);
    } catch {
      throw new Error("The server did not answer. Try again.");
    }
    if (!ack.success) throw new Error(ack.error);
  }

  edit(m: Message, content: string): Promise<void> {
    const text = content.trim();
    if (!text) return Promise.reject(new Error("A message cannot be empty; delete it instead."));
    if (text.length > MAX_CONTENT) {
      return Promise.reject(new Error(`A message is at most ${MAX_CONTENT} characters.`));
    }
    return this.act("edit-message", { chatId: m.chatId, messageId: m.id, content: text });
  }

  delete(m: Message): Promise<void> {
    return this.act("delete-message", { chatId: m.chatId, messageId: m.id });
  }

  /** Adds the emoji, or takes it back when it is already mine. */
  toggleReaction(m: Message, emoji: string): Promise<void> {
    const mine = (m.reactions?.[emoji] ?? []).includes(this.me);
    return this.act(mine ? "remove-reaction" : "add-reaction",
      { chatId: m.chatId, messageId: m.id, emoji });
  }

  togglePin(m: Message): Promise<void> {
    return this.act(m.pinned ? "unpin-message" : "pin-message", { chatId: m.chatId, messageId: m.id });
  }

  async loadThread(chatId: string, rootId: string, older = false): Promise<void> {
    const known = this.store.threads.get(rootId);
    if (older && (!known?.loaded || known.loadingOlder || known.nextBefore === null)) return;
    if (older) this.store.setThreadState(rootId, { loadingOlder: true });
    try {
      const page = await this.api.thread(chatId, rootId, older ? known!.nextBefore : null);
      this.store.setThreadPage(rootId, page, older);
      for (const m of page.messages) this.ackDelivery(m);
    } catch (err) {
      this.store.setThreadState(rootId, { loadingOlder: false, error: (err as Error).message });
    }
  }

  // -- a chat's timeline -----------------------------------------------------------
  openChat(chatId: string | null): void {
    if (this.typingChat && this.typingChat !== chatId) this.stopTyping();
    this.store.openChatId = chatId;
    this.store.changed();
    if (chatId === null) return;
    if (!this.store.chats.has(chatId)) {
      this.api.chat(chatId).then((chat) => this.store.upsertChat(chat),
        (err: Error) => this.store.setTimelineState(chatId, { error: err.message }));
    }
    if (!this.store.timelines.get(chatId)?.loaded) void this.loadLatest(chatId);
  }

  private async loadLatest(chatId: string): Promise<void> {
    try {
      const page = await this.api.history(chatId, null);
      this.store.setLatestPage(chatId, page);
      for (const m of page.messages) this.ackDelivery(m);
    } catch (err) {
      this.store.setTimelineState(chatId, { error: (err as Error).message });
    }
  }

  /** Infinite scroll upward: the page before the oldest one shown (seq cursor). */
  async loadOlder(chatId: string): Promise<void> {
    const timeline = this.store.timelines.get(chatId);
    if (!timeline?.loaded || timeline.loadingOlder || timeline.nextBefore === null) return;
    this.store.setTimelineState(chatId, { loadingOlder: true });
    try {
      const page = await this.api.history(chatId, timeline.nextBefore);
      this.store.prependPage(chatId, page);
      for (const m of page.messages) this.ackDelivery(m);
    } catch (err) {
      this.store.setTimelineState(chatId, { loadingOlder: false, error: (err as Error).message });
    }
  }

  /** The newest message of someone else that the person has on screen. */
  markRead(m: Message): void {
    if (m.senderId === this.me || m.seq <= (this.store.readMarks.get(m.chatId) ?? -1)) return;
    this.store.markReadLocally(m.chatId, m.seq);
    this.socket.emit("message-read", { chatId: m.chatId, messageId: m.id });
  }

  // -- sending -------------------------------------------------------------------
  /** Queued at once (shown as sending), sent in order when connected; a retry
   * carries the same clientMessageId, so the server stores it once. */
  send(chatId: string, text: string, options: { replyTo?: string; threadId?: string } = {}): string | null {
    const content = text.trim();
    if (!content) return null;
    if (content.length > MAX_CONTENT) return `A message is at most ${MAX_CONTENT} characters.`;
    this.stopTyping();
    this.store.addPending({ clientMessageId: newClientMessageId(), chatId, content,
                            createdAt: new Date().toISOString(), error: null,
                            replyTo: options.replyTo ?? null, threadId: options.threadId ?? null });
    void this.flushOutbox();
    return null;
  }

  retry(clientMessageId: string): void {
    this.store.failPending(clientMessageId, null);
    void this.flushOutbox();
  }

  discard(clientMessageId: string): void {
    this.store.discardPending(clientMessageId);
  }

  private async flushOutbox(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const next = [...this.store.pending.values()].find((p) => p.error === null);
        if (!next || !this.socket.connected) return;
        let ack: Ack<{ messageId: string; seq: number; createdAt: string }>;
        try {
          ack = await this.socket.timeout(SEND_TIMEOUT_MS).emitWithAck("send-message", {
            chatId: next.chatId, content: next.content, clientMessageId: next.clientMessageId,
            ...(next.replyTo ? { replyTo: next.replyTo } : {}),
            ...(next.threadId ? { threadId: next.threadId } : {}),
          });
        } catch {
          // Disconnected or no answer: the next connect flushes again.
          if (this.socket.connected) await sleep(1000);
          continue;
        }
        if (!this.store.pending.has(next.clientMessageId)) continue; // new-message came first
        if (ack.success) {
          this.store.addMessage({
            id: ack.messageId, chatId: next.chatId, senderId: this.me, content: next.content,
            seq: ack.seq, createdAt: ack.createdAt, clientMessageId: next.clientMessageId,
            deliveredTo: [], readBy: [], replyTo: next.replyTo, threadId: next.threadId,
          });
        } else if (ack.code === "rate_limited" || ack.code === "unavailable") {
          await sleep(ack.retryAfterMs ?? 1000);
        } else if (ack.error === "muted") {
          // Muted before this page knew it (the mute came while it was closed).
          if (!this.store.isMuted(next.chatId, this.me)) this.store.setMuted(next.chatId, this.me, true, null);
          this.store.failPending(next.clientMessageId, "you are muted in this chat");
        } else {
          this.store.failPending(next.clientMessageId, ack.error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  // -- typing --------------------------------------------------------------------
  /** Called on every keystroke in the composer; throttled to what the server needs. */
  typed(chatId: string): void {
    const now = Date.now();
    if (this.typingChat !== chatId || now - this.typingSince > TYPING_RENEW_MS) {
      if (this.typingChat && this.typingChat !== chatId) this.stopTyping();
      if (this.typingAllowed(now)) {
        this.typingChat = chatId;
        this.typingSince = now;
        this.socket.volatile.emit("typing-start", { chatId });
      }
    }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping(): void {
    clearTimeout(this.typingTimer);
    if (this.typingChat === null) return;
    // Over the budget, the stop is left out: the message sent ends the typing on the
    // other side, and the server expires it after 6 s anyway.
    if (this.typingAllowed(Date.now())) this.socket.volatile.emit("typing-stop", { chatId: this.typingChat });
    this.typingChat = null;
  }

  /** The server takes 2 typing events a second with bursts of 4 (CONTRACT.md);
   * a token bucket a little under that keeps this client from being refused. */
  private typingAllowed(now: number): boolean {
    this.typingTokens = Math.min(TYPING_BURST, this.typingTokens + (now - this.typingRefilled) * TYPING_PER_MS);
    this.typingRefilled = now;
    if (this.typingTokens < 1) return false;
    this.typingTokens -= 1;
    return true;
  }
}
