// Wire shapes of CONTRACT.md, as the server sends them (camelCase).

export interface Message {
  id: string;
  chatId: string;
  senderId: string;
  content: string | null;
  seq: number;
  createdAt: string;
  clientMessageId: string | null;
  deliveredTo: string[];
  readBy: string[];
  // "Messages over time" (edits, deletes, reactions, replies, threads, pins,
  // mentions): optional, so a message from an older server still reads.
  editedAt?: string | null;
  deleted?: boolean;
  erased?: boolean;
  replyTo?: string | null;
  threadId?: string | null;
  threadReplyCount?: number;
  threadLastReplyAt?: string | null;
  reactions?: Record<string, string[]>;
  mentions?: string[];
  pinned?: boolean;
}

/** One version of a message: GET .../messages/{id}/edits. */
export interface MessageVersion {
  content: string | null;
  editedAt: string;
  seq: number;
}

export interface Chat {
  id: string;
  title: string;
  memberIds: string[];
  createdAt: string;
  createdBy?: string;
  unreadCount: number;
  lastMessage: Message | null;
  // "Chats people run": optional, so a chat from an older server still reads.
  kind?: "group" | "direct";
  ownerId?: string | null;
  admins?: string[];
  description?: string | null;
  unreadMentions?: number;
}

export interface Mute {
  userId: string;
  by?: string;
  until: string | null;
}

export interface Ban {
  userId: string;
  by: string;
  reason: string | null;
  at: string;
}

export interface Report {
  id: string;
  messageId: string;
  reporterId: string;
  reason: string | null;
  at: string;
}

export interface PrivacySettings {
  readReceipts: boolean;
  lastSeen: boolean;
}

export interface HistoryPage {
  messages: Message[];
  nextBefore: number | null;
}

export interface Presence {
  userId: string;
  online: boolean;
  lastSeen: string | null;
}

export interface Receipt {
  chatId: string;
  messageId: string;
  userId: string;
  at: string;
}

export type Ack<T = Record<string, unknown>> =
  | ({ success: true } & T)
  | { success: false; error: string; code: string; retryAfterMs?: number };

export type ConnectionState = "connected" | "reconnecting" | "offline";
