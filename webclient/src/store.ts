// Everything the client knows, in one place, and the rules that keep it
// consistent: a message is known once (by id), a chat counts a message as
// unread once (by seq), receipts are merged the way the server counts them.
// Components read it; ChatClient (client.ts) is the only writer.

import type { Chat, ConnectionState, HistoryPage, Message, Mute, Presence, Receipt } from "./types";

export interface Timeline {
  messages: Message[]; // oldest first, by seq
  nextBefore: number | null; // null once the beginning is loaded
  loaded: boolean;
  loadingOlder: boolean;
  error: string | null;
}

export interface Pending {
  clientMessageId: string;
  chatId: string;
  content: string;
  createdAt: string;
  error: string | null;
  replyTo: string | null;
  threadId: string | null;
}

const TYPING_SHOWN_MS = 7000; // the server expires typing after 6 s
const MAX_UNPLACED = 1000; // per chat not yet in the list

function withUser(list: string[], userId: string): string[] {
  return list.includes(userId) ? list : [...list, userId];
}

function sortedInsert(messages: Message[], m: Message): Message[] {
  const at = messages.findIndex((x) => x.id === m.id);
  if (at >= 0) {
    const old = messages[at]!;
    const merged: Message = {
      ...old,
      ...m,
      deliveredTo: [...new Set([...old.deliveredTo, ...m.deliveredTo])],
      readBy: [...new Set([...old.readBy, ...m.readBy])],
    };
    return messages.map((x, i) => (i === at ? merged : x));
  }
  const last = messages[messages.length - 1];
  if (!last || last.seq < m.seq) return [...messages, m];
  const next = [...messages, m];
  next.sort((a, b) => a.seq - b.seq);
  return next;
}

export function normalized(m: Message): Message {
  // new-message carries no receipts yet; history pages do.
  return { ...m, deliveredTo: m.deliveredTo ?? [], readBy: m.readBy ?? [] };
}

export class Store {
  connection: ConnectionState = "reconnecting";
  everConnected = false;
  chats = new Map<string, Chat>();
  chatsLoaded = false;
  timelines = new Map<string, Timeline>();
  pending = new Map<string, Pending>();
  presence = new Map<string, Presence>();
  private presenceLive = new Map<string, number>(); // when a live presence event last came
  typing = new Map<string, Map<string, ReturnType<typeof setTimeout>>>();
  readMarks = new Map<string, number>();
  /** A thread's replies (oldest first), by the id of its root message. */
  threads = new Map<string, Timeline>();
  /** Who is muted in each chat, and until when (null: until unmuted). */
  mutes = new Map<string, Map<string, string | null>>();
  private countedReplies = new Set<string>();
  private unplaced = new Map<string, Message[]>();
  openChatId: string | null = null;
  notice: string | null = null;
  version = 0;

  private listeners = new Set<() => void>();
  private scheduled = false;

  constructor(readonly me: string) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Many changes in one task render once. */
  changed(): void {
    this.version++;
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const listener of this.listeners) listener();
    });
  }

  // -- chats -------------------------------------------------------------------
  setChats(list: Chat[]): void {
    const next = new Map<string, Chat>();
    for (const chat of list) {
      const known = this.chats.get(chat.id);
      const last = known?.lastMessage;
      // Live messages newer than the server's snapshot (it lags the feed a
      // little) stay, and so does the count that includes them.
      if (known && last && (!chat.lastMessage || last.seq > chat.lastMessage.seq)) {
        next.set(chat.id, { ...chat, lastMessage: last, unreadCount: known.unreadCount });
      } else {
        next.set(chat.id, chat);
      }
    }
    this.chats = next;
    this.chatsLoaded = true;
    for (const chatId of [...this.unplaced.keys()]) this.placeMessages(chatId);
    this.changed();
  }

  upsertChat(chat: Partial<Chat> & { id: string }): void {
    const known = this.chats.get(chat.id);
    this.chats.set(chat.id, {
      title: "", memberIds: [], createdAt: new Date().toISOString(),
      ...known,
      ...chat,
      unreadCount: chat.unreadCount ?? known?.unreadCount ?? 0,
      lastMessage: chat.lastMessage ?? known?.lastMessage ?? null,
    });
    this.placeMessages(chat.id);
    this.changed();
  }

  /** Messages are waiting for a chat the list does not have yet. */
  hasUnplaced(): boolean {
    return this.unplaced.size > 0;
  }

  /** Messages that came live before their chat was known here (the list was
   * being fetched): counted now, those the snapshot did not already hold. */
  private placeMessages(chatId: string): void {
    const held = this.unplaced.get(chatId);
    if (!held || !this.chats.has(chatId)) return;
    this.unplaced.delete(chatId);
    for (const m of held) this.addMessage(m);
  }

  removeChat(chatId: string): void {
    this.chats.delete(chatId);
    this.mutes.delete(chatId);
    for (const [rootId, thread] of this.threads) {
      if (thread.messages[0]?.chatId === chatId) this.threads.delete(rootId);
    }
    this.unplaced.delete(chatId);
    this.timelines.delete(chatId);
    this.typing.delete(chatId);
    this.changed();
  }

  sortedChats(): Chat[] {
    const activity = (c: Chat) => c.lastMessage?.createdAt ?? c.createdAt;
    return [...this.chats.values()].sort((a, b) => activity(b).localeCompare(activity(a)));
  }

  // -- messages ----------------------------------------------------------------
  /** A message from the server (live, replayed on recovery, or an ack). */
  addMessage(incoming: Message): void {
    const m = normalized(incoming);
    if (m.threadId) {
      this.addThreadReply(m);
      return;
    }
    const timeline = this.timelines.get(m.chatId);
    if (timeline?.loaded) {
      this.timelines.set(m.chatId, { ...timeline, messages: sortedInsert(timeline.messages, m) });
    }
    if (m.senderId === this.me && m.clientMessageId) this.pending.delete(m.clientMessageId);
    const chat = this.chats.get(m.chatId);
    if (!chat) {
      const held = this.unplaced.get(m.chatId) ?? [];
      if (held.length < MAX_UNPLACED) held.push(m);
      this.unplaced.set(m.chatId, held);
    } else if (!chat.lastMessage || m.seq > chat.lastMessage.seq) {
      const unread = m.senderId !== this.me && m.seq > (this.readMarks.get(m.chatId) ?? -1);
      const mentioned = unread && (m.mentions ?? []).includes(this.me);
      this.chats.set(m.chatId, {
        ...chat,
        lastMessage: m,
        unreadCount: chat.unreadCount + (unread ? 1 : 0),
        unreadMentions: (chat.unreadMentions ?? 0) + (mentioned ? 1 : 0),
      });
    } else if (chat?.lastMessage?.id === m.id) {
      this.chats.set(m.chatId, { ...chat, lastMessage: { ...chat.lastMessage, ...m } });
    }
    this.changed();
  }

  /** A reply in a thread: in the thread's own timeline, never in the main one
   * (nor in the chat's last message or unread count); its root counts it. */
  private addThreadReply(m: Message): void {
    const rootId = m.threadId!;
    const thread = this.threads.get(rootId);
    if (thread?.loaded) this.threads.set(rootId, { ...thread, messages: sortedInsert(thread.messages, m) });
    if (m.senderId === this.me && m.clientMessageId) this.pending.delete(m.clientMessageId);
    if (!this.countedReplies.has(m.id)) {
      this.countedReplies.add(m.id);
      this.patchMessage(m.chatId, rootId, (root) => ({
        ...root,
        threadReplyCount: (root.threadReplyCount ?? 0) + 1,
        threadLastReplyAt: m.createdAt,
      }));
    }
    this.changed();
  }

  setThreadPage(rootId: string, page: HistoryPage, older: boolean): void {
    const known = this.threads.get(rootId);
    const fresh = page.messages.map(normalized);
    for (const m of fresh) this.countedReplies.add(m.id);
    let messages = known?.loaded ? known.messages : [];
    for (const m of fresh) messages = sortedInsert(messages, m);
    const nextBefore = older || !known?.loaded ? page.nextBefore : known.nextBefore;
    this.threads.set(rootId, { messages, nextBefore, loaded: true, loadingOlder: false, error: null });
    this.changed();
  }

  setThreadState(rootId: string, state: Partial<Timeline>): void {
    const known = this.threads.get(rootId) ?? {
      messages: [], nextBefore: null, loaded: false, loadingOlder: false, error: null,
    };
    this.threads.set(rootId, { ...known, ...state });
    this.changed();
  }

  /** Finds a message wherever it is shown (the main timeline, a thread, the
   * chat list's last message). */
  findMessage(chatId: string, messageId: string): Message | undefined {
    const inMain = this.timelines.get(chatId)?.messages.find((m) => m.id === messageId);
    if (inMain) return inMain;
    for (const thread of this.threads.values()) {
      const found = thread.messages.find((m) => m.id === messageId && m.chatId === chatId);
      if (found) return found;
    }
    const last = this.chats.get(chatId)?.lastMessage;
    return last?.id === messageId ? last : undefined;
  }

  /** Changes one message wherever it is shown. */
  patchMessage(chatId: string, messageId: string, change: (m: Message) => Message): void {
    const apply = (list: Message[]) => {
      const at = list.findIndex((m) => m.id === messageId);
      return at < 0 ? list : list.map((m, i) => (i === at ? change(m) : m));
    };
    const timeline = this.timelines.get(chatId);
    if (timeline) this.timelines.set(chatId, { ...timeline, messages: apply(timeline.messages) });
    for (const [rootId, thread] of this.threads) {
      if (thread.messages.some((m) => m.id === messageId)) {
        this.threads.set(rootId, { ...thread, messages: apply(thread.messages) });
      }
    }
    const chat = this.chats.get(chatId);
    if (chat?.lastMessage?.id === messageId) {
      this.chats.set(chatId, { ...chat, lastMessage: change(chat.lastMessage) });
    }
    this.changed();
  }

  edited(e: { chatId: string; messageId: string; content: string; editedAt: string }): void {
    this.patchMessage(e.chatId, e.messageId, (m) => ({ ...m, content: e.content, editedAt: e.editedAt }));
  }

  deleted(e: { chatId: string; messageId: string }): void {
    this.patchMessage(e.chatId, e.messageId, (m) => ({
      ...m, content: null, deleted: true, reactions: {}, mentions: [], pinned: false,
    }));
  }

  reacted(e: { chatId: string; messageId: string; userId: string; emoji: string }, on: boolean): void {
    this.patchMessage(e.chatId, e.messageId, (m) => {
      const reactions = { ...(m.reactions ?? {}) };
      const users = reactions[e.emoji] ?? [];
      const next = on ? withUser(users, e.userId) : users.filter((u) => u !== e.userId);
      if (next.length) reactions[e.emoji] = next;
      else delete reactions[e.emoji];
      return { ...m, reactions };
    });
  }

  pinnedChanged(e: { chatId: string; messageId: string }, pinned: boolean): void {
    this.patchMessage(e.chatId, e.messageId, (m) => ({ ...m, pinned }));
  }

  // -- members, roles and mutes --------------------------------------------------------
  memberJoined(chatId: string, userId: string): void {
    const chat = this.chats.get(chatId);
    if (chat) this.chats.set(chatId, { ...chat, memberIds: withUser(chat.memberIds, userId) });
    this.changed();
  }

  memberLeft(chatId: string, userId: string): void {
    const chat = this.chats.get(chatId);
    if (chat) {
      this.chats.set(chatId, {
        ...chat,
        memberIds: chat.memberIds.filter((u) => u !== userId),
        admins: (chat.admins ?? []).filter((u) => u !== userId),
      });
    }
    this.changed();
  }

  adminsChanged(chatId: string, admins: string[], ownerId: string | null): void {
    const chat = this.chats.get(chatId);
    if (chat) this.chats.set(chatId, { ...chat, admins, ownerId });
    this.changed();
  }

  setMuted(chatId: string, userId: string, muted: boolean, until: string | null): void {
    const users = this.mutes.get(chatId) ?? new Map<string, string | null>();
    if (muted) users.set(userId, until);
    else users.delete(userId);
    this.mutes.set(chatId, users);
    this.changed();
  }

  /** The chat's mutes as the server lists them now (GET .../mutes, admins). */
  setMutes(chatId: string, list: Mute[]): void {
    this.mutes.set(chatId, new Map(list.map((m) => [m.userId, m.until])));
    this.changed();
  }

  /** Muted now: an open-ended mute, or one that has not expired yet. */
  isMuted(chatId: string, userId: string): boolean {
    const users = this.mutes.get(chatId);
    if (!users?.has(userId)) return false;
    const until = users.get(userId);
    return until === null || until === undefined || Date.parse(until) > Date.now();
  }

  setLatestPage(chatId: string, page: HistoryPage): void {
    const known = this.timelines.get(chatId);
    const fresh = page.messages.map(normalized);
    let timeline: Timeline;
    const newestKnown = known?.messages[known.messages.length - 1];
    const oldestFresh = fresh[0];
    const gap = !newestKnown || !oldestFresh || oldestFresh.seq > newestKnown.seq;
    if (known?.loaded && !(gap && page.nextBefore !== null)) {
      let messages = known.messages;
      for (const m of fresh) messages = sortedInsert(messages, m);
      timeline = { ...known, messages, error: null };
    } else {
      // First load, or what was missed does not meet what is shown: start again.
      timeline = { messages: fresh, nextBefore: page.nextBefore, loaded: true,
                   loadingOlder: false, error: null };
    }
    this.timelines.set(chatId, timeline);
    this.learnReadMark(chatId, fresh);
    this.changed();
  }

  prependPage(chatId: string, page: HistoryPage): void {
    const known = this.timelines.get(chatId);
    if (!known) return;
    let messages = known.messages;
    const fresh = page.messages.map(normalized);
    for (const m of fresh) messages = sortedInsert(messages, m);
    this.timelines.set(chatId, { ...known, messages, nextBefore: page.nextBefore,
                                 loadingOlder: false, error: null });
    this.learnReadMark(chatId, fresh);
    this.changed();
  }

  setTimelineState(chatId: string, state: Partial<Timeline>): void {
    const known = this.timelines.get(chatId) ?? {
      messages: [], nextBefore: null, loaded: false, loadingOlder: false, error: null,
    };
    this.timelines.set(chatId, { ...known, ...state });
    this.changed();
  }

  private learnReadMark(chatId: string, messages: Message[]): void {
    for (const m of messages) {
      if (m.readBy.includes(this.me) && m.seq > (this.readMarks.get(chatId) ?? -1)) {
        this.readMarks.set(chatId, m.seq);
      }
    }
  }

  // -- receipts ----------------------------------------------------------------
  /** Delivery counts per message; reading a message reads every earlier one.
   * Returns false when the message is not known here (the caller may refresh). */
  applyReceipt(kind: "delivered" | "read", r: Receipt): boolean {
    const timeline = this.timelines.get(r.chatId);
    const chat = this.chats.get(r.chatId);
    const target = timeline?.messages.find((m) => m.id === r.messageId)
      ?? (chat?.lastMessage?.id === r.messageId ? chat.lastMessage : undefined);
    if (!target) return false;
    const reaches = (m: Message) =>
      m.senderId !== r.userId && (kind === "read" ? m.seq <= target.seq : m.id === target.id);
    const mark = (m: Message): Message => {
      if (!reaches(m)) return m;
      const deliveredTo = withUser(m.deliveredTo, r.userId);
      const readBy = kind === "read" ? withUser(m.readBy, r.userId) : m.readBy;
      return deliveredTo === m.deliveredTo && readBy === m.readBy
        ? m : { ...m, deliveredTo, readBy };
    };
    if (timeline) this.timelines.set(r.chatId, { ...timeline, messages: timeline.messages.map(mark) });
    if (chat?.lastMessage) this.chats.set(r.chatId, { ...chat, lastMessage: mark(chat.lastMessage) });
    if (kind === "read" && r.userId === this.me) this.markReadLocally(r.chatId, target.seq);
    this.changed();
    return true;
  }

  /** My read mark moved to `seq`: what is unread is what came after it. */
  markReadLocally(chatId: string, seq: number): void {
    if (seq <= (this.readMarks.get(chatId) ?? -1)) return;
    this.readMarks.set(chatId, seq);
    const chat = this.chats.get(chatId);
    if (chat) {
      const last = chat.lastMessage;
      const timeline = this.timelines.get(chatId);
      const after = (timeline?.messages ?? []).filter((m) => m.seq > seq && m.senderId !== this.me);
      const all = !last || seq >= last.seq;
      this.chats.set(chatId, {
        ...chat,
        unreadCount: all ? 0 : after.length,
        unreadMentions: all ? 0 : after.filter((m) => (m.mentions ?? []).includes(this.me)).length,
      });
    }
    this.changed();
  }

  // -- outbox ------------------------------------------------------------------
  addPending(p: Pending): void {
    this.pending.set(p.clientMessageId, p);
    this.changed();
  }

  failPending(clientMessageId: string, error: string | null): void {
    const p = this.pending.get(clientMessageId);
    if (!p) return;
    this.pending.set(clientMessageId, { ...p, error });
    this.changed();
  }

  discardPending(clientMessageId: string): void {
    this.pending.delete(clientMessageId);
    this.changed();
  }

  /** What waits to be sent in a chat's main timeline, or in one thread. */
  pendingOf(chatId: string, threadId: string | null = null): Pending[] {
    return [...this.pending.values()].filter((p) => p.chatId === chatId && p.threadId === threadId);
  }

  // -- typing and presence -----------------------------------------------------
  setTyping(chatId: string, userId: string, typing: boolean): void {
    const users = this.typing.get(chatId) ?? new Map<string, ReturnType<typeof setTimeout>>();
    const timer = users.get(userId);
    if (timer !== undefined) clearTimeout(timer);
    if (typing) {
      users.set(userId, setTimeout(() => this.setTyping(chatId, userId, false), TYPING_SHOWN_MS));
    } else {
      users.delete(userId);
    }
    this.typing.set(chatId, users);
    this.changed();
  }

  typingIn(chatId: string): string[] {
    return [...(this.typing.get(chatId)?.keys() ?? [])];
  }

  /** A GET /api/presence answer, asked at `askedAt` (ms): it does not undo a live
   * user-online/user-offline that came after it was asked (the answer may lag). */
  setPresence(list: Presence[], askedAt = 0): void {
    for (const p of list) {
      if ((this.presenceLive.get(p.userId) ?? -1) >= askedAt) continue;
      this.presence.set(p.userId, p);
    }
    this.changed();
  }

  setOnline(userId: string, online: boolean, lastSeen: string | null = null): void {
    const known = this.presence.get(userId);
    this.presenceLive.set(userId, Date.now());
    // Going offline, the server's lastSeen is the truth: null when the user hides it
    // (privacy setting `lastSeen: false`), so an earlier time must not linger.
    const seen = online ? known?.lastSeen ?? null : lastSeen;
    this.presence.set(userId, { userId, online, lastSeen: seen });
    this.changed();
  }

  // -- connection and notices --------------------------------------------------
  setConnection(state: ConnectionState): void {
    if (state === "connected") this.everConnected = true;
    if (this.connection === state) return;
    this.connection = state;
    this.changed();
  }

  setNotice(notice: string | null): void {
    this.notice = notice;
    this.changed();
  }
}
