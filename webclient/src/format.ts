// How things read on screen: chat names, times, previews.

import type { Chat, Message, Presence } from "./types";

export function chatName(chat: Chat, me: string): string {
  // A direct chat is named after the other person, whatever its title says.
  if (chat.kind === "direct") return chat.memberIds.find((u) => u !== me) ?? "Just you";
  if (chat.title) return chat.title;
  const others = chat.memberIds.filter((u) => u !== me);
  return others.length ? others.join(", ") : "Just you";
}

export function otherMembers(chat: Chat, me: string): string[] {
  return chat.memberIds.filter((u) => u !== me);
}

const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const day = new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric" });
const fullDay = new Intl.DateTimeFormat(undefined, {
  weekday: "long", year: "numeric", month: "long", day: "numeric",
});

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth()
    && a.getDate() === b.getDate();
}

export function clock(iso: string): string {
  return time.format(new Date(iso));
}

/** For the chat list: the time today, the day otherwise. */
export function when(iso: string): string {
  const d = new Date(iso);
  return sameDay(d, new Date()) ? time.format(d) : day.format(d);
}

export function dayLabel(iso: string): string {
  const d = new Date(iso);
  const today = new Date();
  if (sameDay(d, today)) return "Today";
  const yesterday = new Date(today);
  yesterday.setDate(today.getDate() - 1);
  if (sameDay(d, yesterday)) return "Yesterday";
  return fullDay.format(d);
}

export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** The admins' powers (CONTRACT.md "Chats people run"); a server without roles
 * lets the chat's creator moderate. Nobody has them in a direct chat. */
export function isAdmin(chat: Chat, userId: string): boolean {
  if (chat.kind === "direct") return false;
  if (chat.admins) return chat.admins.includes(userId);
  return chat.createdBy === userId;
}

export function isOwner(chat: Chat, userId: string): boolean {
  return chat.kind !== "direct" && (chat.ownerId ?? chat.createdBy) === userId;
}

/** Splits content into text and `@userId` mentions (those the server listed). */
export function withMentions(content: string, mentions: string[]): { text: string; mention: boolean }[] {
  if (mentions.length === 0) return [{ text: content, mention: false }];
  const parts: { text: string; mention: boolean }[] = [];
  const pattern = /@([^\s!"#$%&'()*+,/:;<=>?@[\]^`{|}~]+)/g;
  let at = 0;
  for (let match = pattern.exec(content); match; match = pattern.exec(content)) {
    let id = match[1]!;
    while (id && !mentions.includes(id) && /[.\-_]$/.test(id)) id = id.slice(0, -1);
    if (!mentions.includes(id)) continue;
    if (match.index > at) parts.push({ text: content.slice(at, match.index), mention: false });
    parts.push({ text: `@${id}`, mention: true });
    at = match.index + 1 + id.length;
    pattern.lastIndex = at;
  }
  if (at < content.length) parts.push({ text: content.slice(at), mention: false });
  return parts;
}

export function preview(m: Message, me: string): string {
  const text = m.deleted ? "Message deleted" : m.erased ? "Message erased" : (m.content ?? "");
  const who = m.senderId === me ? "You" : m.senderId;
  return `${who}: ${text.replace(/\s+/g, " ")}`;
}

export function lastSeen(p: Presence | undefined): string {
  if (!p) return "offline";
  if (p.online) return "online";
  if (!p.lastSeen) return "offline";
  const minutes = Math.round((Date.now() - Date.parse(p.lastSeen)) / 60000);
  if (minutes < 1) return "last seen just now";
  if (minutes < 60) return `last seen ${minutes} min ago`;
  return `last seen ${when(p.lastSeen)}`;
}

export function typingLine(users: string[]): string {
  if (users.length === 0) return "";
  if (users.length === 1) return `${users[0]} is typing…`;
  if (users.length === 2) return `${users[0]} and ${users[1]} are typing…`;
  return `${users.length} people are typing…`;
}

/** Brings a message of the open chat's timeline into view and gives it the focus
 * (a pin or a quote leads there); false when it is not loaded here. */
export function showMessage(messageId: string): boolean {
  const el = document.querySelector<HTMLElement>(
    `.chat-main [data-testid=message][data-message-id="${CSS.escape(messageId)}"]`);
  if (!el) return false;
  el.scrollIntoView({ block: "center" });
  el.focus({ preventScroll: true });
  el.classList.remove("flash");
  void el.offsetWidth; // restart the animation
  el.classList.add("flash");
  return true;
}
