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
  // mentions): optional until the server sends them.
  editedAt?: string | null;
  deleted?: boolean;
  replyTo?: string | null;
  threadId?: string | null;
  reactions?: Record<string, string[]>;
  mentions?: string[];
  pinned?: boolean;
}

export interface Chat {
  id: string;
  title: string;
  memberIds: string[];
  createdAt: string;
  createdBy?: string;
  unreadCount: number;
  lastMessage: Message | null;
  // "Chats people run": optional until the server sends them.
  kind?: "group" | "direct";
  ownerId?: string | null;
  admins?: string[];
  unreadMentions?: number;
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
