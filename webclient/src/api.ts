// The REST side (CONTRACT.md "REST interface"), with errors a person can read.

import type { Chat, HistoryPage, Message, Presence } from "./types";

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
