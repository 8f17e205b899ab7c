// The REST side (CONTRACT.md "REST interface"), with errors a person can read.

import type { Ban, Chat, HistoryPage, Message, MessageVersion, Mute, Presence, PrivacySettings,
  Report } from "./types";

const seg = encodeURIComponent;

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null = null,
    readonly field: string | null = null,
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
  }
}

interface ErrorBody {
  error?: string;
  code?: string;
  field?: string | null;
}

function retryAfter(response: Response): number | null {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

function minutes(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** What to tell the person, by status; the server's own text where it is the best we have. */
function readable(status: number, body: ErrorBody, wait: number | null): string {
  if (status === 429) {
    return wait === null
      ? "Too many attempts. Wait a little and try again."
      : `Too many attempts. Try again in ${minutes(wait)}.`;
  }
  if (status === 503) return "The server is busy. Try again in a moment.";
  if (status >= 500) return "Something went wrong on the server. Try again.";
  const text = body.error ?? `request failed (${status})`;
  return body.field ? `${body.field}: ${text}` : text;
}

export class Api {
  constructor(private token: () => string | null, private onUnauthorized: () => void) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError("Cannot reach the server. Check your connection.", 0);
    }
    if (response.status === 204) return undefined as T;
    const parsed: unknown = await response.json().catch(() => ({}));
    if (!response.ok) {
      const err = (parsed ?? {}) as ErrorBody;
      const wait = retryAfter(response);
      if (response.status === 401 && token) this.onUnauthorized();
      throw new ApiError(readable(response.status, err, wait), response.status,
        err.code ?? null, err.field ?? null, wait);
    }
    return parsed as T;
  }

  register(username: string, password: string): Promise<{ userId: string }> {
    return this.request("POST", "/api/auth/register", { username, password });
  }

  login(username: string, password: string): Promise<{ accessToken: string; expiresIn: number }> {
    return this.request("POST", "/api/auth/login", { username, password });
  }

  chats(): Promise<Chat[]> {
    return this.request("GET", "/api/chats");
  }

  chat(chatId: string): Promise<Chat> {
    return this.request("GET", `/api/chats/${encodeURIComponent(chatId)}`);
  }

  createChat(memberIds: string[], title?: string): Promise<Chat> {
    return this.request("POST", "/api/chats", { memberIds, ...(title ? { title } : {}) });
  }

  addMember(chatId: string, userId: string): Promise<Chat> {
    return this.request("POST", `/api/chats/${encodeURIComponent(chatId)}/members`, { userId });
  }

  removeMember(chatId: string, userId: string): Promise<void> {
    return this.request("DELETE",
      `/api/chats/${encodeURIComponent(chatId)}/members/${encodeURIComponent(userId)}`);
  }

  history(chatId: string, before: number | null, limit = 50): Promise<HistoryPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before !== null) query.set("before", String(before));
    return this.request("GET", `/api/chats/${encodeURIComponent(chatId)}/messages?${query}`);
  }

  send(chatId: string, content: string, clientMessageId: string): Promise<Message> {
    return this.request("POST", `/api/chats/${encodeURIComponent(chatId)}/messages`,
      { content, clientMessageId });
  }

  /** The direct chat with one user: the same chat whoever opens it, however often. */
  openDirect(userId: string): Promise<Chat> {
    return this.request("POST", "/api/chats", { memberIds: [userId], direct: true });
  }

  updateChat(chatId: string, change: { title?: string; description?: string }): Promise<Chat> {
    return this.request("PATCH", `/api/chats/${seg(chatId)}`, change);
  }

  leave(chatId: string): Promise<void> {
    return this.request("POST", `/api/chats/${seg(chatId)}/leave`, {});
  }

  setAdmin(chatId: string, userId: string, admin: boolean): Promise<void> {
    return this.request(admin ? "PUT" : "DELETE", `/api/chats/${seg(chatId)}/admins/${seg(userId)}`);
  }

  handOver(chatId: string, userId: string): Promise<void> {
    return this.request("POST", `/api/chats/${seg(chatId)}/owner`, { userId });
  }

  ban(chatId: string, userId: string): Promise<void> {
    return this.request("POST", `/api/chats/${seg(chatId)}/bans`, { userId });
  }

  bans(chatId: string): Promise<Ban[]> {
    return this.request("GET", `/api/chats/${seg(chatId)}/bans`);
  }

  unban(chatId: string, userId: string): Promise<void> {
    return this.request("DELETE", `/api/chats/${seg(chatId)}/bans/${seg(userId)}`);
  }

  mute(chatId: string, userId: string, until: string | null): Promise<void> {
    return this.request("POST", `/api/chats/${seg(chatId)}/mutes`,
      until ? { userId, until } : { userId });
  }

  mutes(chatId: string): Promise<Mute[]> {
    return this.request("GET", `/api/chats/${seg(chatId)}/mutes`);
  }

  unmute(chatId: string, userId: string): Promise<void> {
    return this.request("DELETE", `/api/chats/${seg(chatId)}/mutes/${seg(userId)}`);
  }

  createInvite(chatId: string, ttlSeconds?: number): Promise<{ code: string; expiresAt: string | null }> {
    return this.request("POST", `/api/chats/${seg(chatId)}/invites`,
      ttlSeconds ? { ttlSeconds } : {});
  }

  revokeInvite(chatId: string, code: string): Promise<void> {
    return this.request("DELETE", `/api/chats/${seg(chatId)}/invites/${seg(code)}`);
  }

  acceptInvite(code: string): Promise<Chat> {
    return this.request("POST", `/api/invites/${seg(code)}/accept`, {});
  }

  report(chatId: string, messageId: string, reason: string): Promise<Report> {
    return this.request("POST", `/api/chats/${seg(chatId)}/messages/${seg(messageId)}/reports`, { reason });
  }

  reports(chatId: string): Promise<Report[]> {
    return this.request("GET", `/api/chats/${seg(chatId)}/reports`);
  }

  settings(): Promise<PrivacySettings> {
    return this.request("GET", "/api/me/settings");
  }

  changeSettings(change: Partial<PrivacySettings>): Promise<PrivacySettings> {
    return this.request("PATCH", "/api/me/settings", change);
  }

  /** Erases the caller: what they wrote becomes unreadable, their tokens stop working. */
  eraseMe(): Promise<void> {
    return this.request("DELETE", "/api/me");
  }

  blocks(): Promise<{ userId: string; at: string }[]> {
    return this.request("GET", "/api/me/blocks");
  }

  setBlocked(userId: string, blocked: boolean): Promise<void> {
    return this.request(blocked ? "PUT" : "DELETE", `/api/me/blocks/${seg(userId)}`);
  }

  thread(chatId: string, rootId: string, before: number | null, limit = 50): Promise<HistoryPage> {
    const query = new URLSearchParams({ threadId: rootId, limit: String(limit) });
    if (before !== null) query.set("before", String(before));
    return this.request("GET", `/api/chats/${seg(chatId)}/messages?${query}`);
  }

  pins(chatId: string): Promise<Message[]> {
    return this.request("GET", `/api/chats/${seg(chatId)}/pins`);
  }

  edits(chatId: string, messageId: string): Promise<MessageVersion[]> {
    return this.request("GET", `/api/chats/${seg(chatId)}/messages/${seg(messageId)}/edits`);
  }

  presence(userIds: string[]): Promise<Presence[]> {
    return this.request("GET", `/api/presence?userIds=${userIds.map(encodeURIComponent).join(",")}`);
  }
}

/** Messages for the sign-in form, where the status alone says what happened. */
export function describeAuthError(err: unknown, action: "login" | "register"): string {
  if (!(err instanceof ApiError)) return String(err);
  if (action === "login" && err.status === 401) return "Wrong username or password.";
  if (action === "register" && err.status === 409) return "That username is taken.";
  if (err.status === 400 && err.field === "username") {
    return "A username is 1 to 64 letters, digits or _ . @ - characters.";
  }
  if (err.status === 400 && err.field === "password") {
    return "The password needs at least 8 characters.";
  }
  return err.message;
}
