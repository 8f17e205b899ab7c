import { Fragment } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { ChatClient } from "../client";
import { dayKey, dayLabel } from "../format";
import { receiptState } from "../receipts";
import type { Timeline } from "../store";
import type { Chat, Message } from "../types";
import { type MessageActions, MessageItem, PendingItem } from "./MessageItem";

const AT_BOTTOM_PX = 48;
const GROUP_MS = 5 * 60_000;

/** The timeline: scrolls to the newest, loads older pages when the top comes
 * into view (keeping what is on screen in place), and marks read what is seen. */
export function MessageList({ client, chat, timeline, actions, moderator }: {
  client: ChatClient;
  chat: Chat;
  timeline: Timeline | undefined;
  actions: MessageActions;
  moderator: boolean;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const seen = useRef({ first: "", last: "", height: 0, top: 0, pending: 0 });
  const byId = useRef(new Map<string, Message>());
  const visible = useRef(new Set<string>());
  const [newBelow, setNewBelow] = useState(false);
  const messages = timeline?.messages ?? [];
  const pending = client.store.pendingOf(chat.id);
  byId.current = new Map(messages.map((m) => [m.id, m]));

  // "New messages" above the first one that was unread when the chat opened: found
  // once, on the first page, by counting others' messages back from the newest.
  const [unreadAtOpen] = useState(chat.unreadCount);
  const firstUnread = useRef<string | null | undefined>(undefined);
  if (firstUnread.current === undefined && timeline?.loaded) {
    firstUnread.current = null;
    let left = unreadAtOpen;
    for (let i = messages.length - 1; i >= 0 && left > 0; i--) {
      if (messages[i]!.senderId === client.me) continue;
      if (--left === 0) firstUnread.current = messages[i]!.id;
    }
  }

  // Keep the view where the reader is: at the bottom for new messages, on the
  // same message when older ones are put above it.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const first = messages[0]?.id ?? "";
    const last = messages[messages.length - 1]?.id ?? "";
    const before = seen.current;
    if (before.last === "" && last !== "") {
      el.scrollTop = el.scrollHeight;
    } else if (first !== before.first && last === before.last) {
      el.scrollTop = before.top + (el.scrollHeight - before.height);
    } else if (last !== before.last || pending.length !== before.pending) {
      const mine = messages[messages.length - 1]?.senderId === client.me
        || pending.length > before.pending;
      if (atBottom.current || mine) el.scrollTop = el.scrollHeight;
      else setNewBelow(true);
    }
    seen.current = { first, last, height: el.scrollHeight, top: el.scrollTop,
                     pending: pending.length };
  });

  // Read what is on screen, while the page is visible.
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const readVisible = () => {
      if (document.visibilityState !== "visible") return;
      let newest: Message | undefined;
      for (const id of visible.current) {
        const m = byId.current.get(id);
        if (m && m.senderId !== client.me && (!newest || m.seq > newest.seq)) newest = m;
      }
      if (newest) client.markRead(newest);
    };
    const observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const id = (e.target as HTMLElement).dataset.messageId;
        if (!id) continue;
        if (e.isIntersecting) visible.current.add(id);
        else visible.current.delete(id);
      }
      readVisible();
    }, { root: el, threshold: 0.5 });
    const observeAll = () => {
      el.querySelectorAll<HTMLElement>("li[data-message-id]").forEach((li) => observer.observe(li));
    };
    observeAll();
    const mutations = new MutationObserver(observeAll);
    mutations.observe(el, { childList: true, subtree: true });
    document.addEventListener("visibilitychange", readVisible);
    return () => {
      observer.disconnect();
      mutations.disconnect();
      document.removeEventListener("visibilitychange", readVisible);
      visible.current.clear();
    };
  }, [client, chat.id]);

  // Infinite scroll upward. Re-observing after each page re-checks the top:
  // a page that did not fill the view asks for the next one.
  useEffect(() => {
    const el = scroller.current;
    const top = sentinel.current;
    if (!el || !top || !timeline?.loaded || timeline.nextBefore === null) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) void client.loadOlder(chat.id);
    }, { root: el, rootMargin: "300px 0px 0px 0px" });
    observer.observe(top);
    return () => observer.disconnect();
  }, [client, chat.id, timeline?.loaded, timeline?.nextBefore, messages.length]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < AT_BOTTOM_PX;
    seen.current.top = el.scrollTop;
    if (atBottom.current && newBelow) setNewBelow(false);
  };

  const toBottom = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    setNewBelow(false);
  };

  return (
    <div class="messages-wrap">
      <div class="messages" ref={scroller} onScroll={onScroll} role="log" aria-label="Messages"
           tabIndex={0}>
        <div ref={sentinel} class="history-edge">
          {!timeline?.loaded ? (timeline?.error ?? "Loading messages…")
            : timeline.loadingOlder ? "Loading older messages…"
            : timeline.nextBefore === null ? (messages.length ? "This is the beginning of the chat." : "")
            : ""}
        </div>
        {timeline?.loaded && messages.length === 0 && pending.length === 0 && (
          <p class="muted center">No messages yet. Say hello!</p>
        )}
        <ol class="message-list">
          {messages.map((m, i) => {
            const prev = messages[i - 1];
            const newDay = !prev || dayKey(prev.createdAt) !== dayKey(m.createdAt);
            const grouped = !newDay && m.id !== firstUnread.current && prev?.senderId === m.senderId
              && Date.parse(m.createdAt) - Date.parse(prev.createdAt) < GROUP_MS;
            const mine = m.senderId === client.me;
            return (
              <Fragment key={m.id}>
                {newDay && <li class="day" role="separator">{dayLabel(m.createdAt)}</li>}
                {m.id === firstUnread.current && (
                  <li class="unread-divider" role="separator" data-testid="unread-divider">
                    <span>New messages</span>
                  </li>
                )}
                <MessageItem message={m} mine={mine} showSender={!mine && !grouped}
                             receipt={mine ? receiptState(m, chat.memberIds, client.me) : null}
                             actions={actions} moderator={moderator}
                             quoted={m.replyTo ? (byId.current.get(m.replyTo)
                               ?? client.store.findMessage(chat.id, m.replyTo) ?? null) : null} />
              </Fragment>
            );
          })}
          {pending.map((p) => (
            <PendingItem key={p.clientMessageId} pending={p}
                         onRetry={() => client.retry(p.clientMessageId)}
                         onDiscard={() => client.discard(p.clientMessageId)} />
          ))}
        </ol>
      </div>
      {newBelow && (
        <button type="button" class="new-below" onClick={toBottom}>New messages ↓</button>
      )}
    </div>
  );
}
