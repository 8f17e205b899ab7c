// How things read on screen: chat names, times, previews.

import type { Chat, Message, Presence } from "./types";

export function chatName(chat: Chat, me: string): string {
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

export function preview(m: Message, me: string): string {
  const text = m.deleted ? "Message deleted" : (m.content ?? "");
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
