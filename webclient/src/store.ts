// Everything the client knows, in one place, and the rules that keep it
// consistent: a message is known once (by id), a chat counts a message as
// unread once (by seq), receipts are merged the way the server counts them.
// Components read it; ChatClient (client.ts) is the only writer.

import type { Chat, ConnectionState, HistoryPage, Message, Presence, Receipt } from "./types";

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
  typing = new Map<string, Map<string, ReturnType<typeof setTimeout>>>();
  readMarks = new Map<string, number>();
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
      this.chats.set(m.chatId, {
        ...chat,
        lastMessage: m,
        unreadCount: chat.unreadCount + (unread ? 1 : 0),
      });
    } else if (chat?.lastMessage?.id === m.id) {
      this.chats.set(m.chatId, { ...chat, lastMessage: { ...chat.lastMessage, ...m } });
    }
    this.changed();
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
      const unread = !last || seq >= last.seq ? 0
        : (timeline?.messages ?? []).filter((m) => m.seq > seq && m.senderId !== this.me).length;
      this.chats.set(chatId, { ...chat, unreadCount: unread });
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

  pendingOf(chatId: string): Pending[] {
    return [...this.pending.values()].filter((p) => p.chatId === chatId);
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

  setPresence(list: Presence[]): void {
    for (const p of list) this.presence.set(p.userId, p);
    this.changed();
  }

  setOnline(userId: string, online: boolean, lastSeen: string | null = null): void {
    const known = this.presence.get(userId);
    this.presence.set(userId, { userId, online, lastSeen: lastSeen ?? known?.lastSeen ?? null });
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
