import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatClient } from "../client";
import { chatName, otherMembers, preview, typingLine, when } from "../format";
import type { Chat, ConnectionState } from "../types";
import { Settings } from "./Settings";
import { chatHref } from "./useStore";

const CONNECTION_LABEL: Record<ConnectionState, string> = {
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

export function ConnectionIndicator({ state, everConnected }: {
  state: ConnectionState;
  everConnected: boolean;
}) {
  const label = state === "reconnecting" && !everConnected ? "Connecting…" : CONNECTION_LABEL[state];
  return (
    <div class="connection" data-testid="connection" data-state={state} role="status"
         title={state === "connected" ? "Live" : "Messages you send wait until the connection is back"}>
      <span class="dot" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Sidebar({ client, openChatId, onSignOut }: {
  client: ChatClient;
  openChatId: string | null;
  onSignOut: (why?: string) => void;
}) {
  const store = client.store;
  const [creating, setCreating] = useState(false);
  const [settings, setSettings] = useState(false);
  const chats = store.sortedChats();
  return (
    <nav class="sidebar" aria-label="Chats">
      <header class="sidebar-head">
        <div class="who">
          <span class="logo" aria-hidden="true" />
          <div>
            <div class="app-name">eschat</div>
            <div class="me" title="Your user id">{client.me}</div>
          </div>
        </div>
        <ConnectionIndicator state={store.connection} everConnected={store.everConnected} />
      </header>
      <div class="sidebar-actions">
        <button type="button" class="primary" data-testid="new-chat" aria-expanded={creating}
                onClick={() => { setCreating(!creating); setSettings(false); }}>
          {creating ? "Cancel" : "New chat"}
        </button>
        <span class="spacer" />
        <button type="button" class="link" data-testid="open-settings" aria-expanded={settings}
                onClick={() => { setSettings(!settings); setCreating(false); }}>
          Settings
        </button>
        <button type="button" class="link" onClick={() => onSignOut()}>Log out</button>
      </div>
      {creating && <NewChat client={client} onDone={() => setCreating(false)} />}
      {settings && <Settings client={client}
                             onErased={() => onSignOut("Your account was deleted.")} />}
      <h2 class="visually-hidden">Your chats</h2>
      {!store.chatsLoaded ? (
        <p class="muted pad">Loading your chats…</p>
      ) : chats.length === 0 ? (
        <p class="muted pad">No chats yet. Start one with “New chat”.</p>
      ) : (
        <ul class="chat-list">
          {chats.map((chat) => (
            <ChatItem key={chat.id} chat={chat} me={client.me} open={chat.id === openChatId}
                      typing={typingLine(store.typingIn(chat.id))}
                      online={otherMembers(chat, client.me).some((u) => store.presence.get(u)?.online)} />
          ))}
        </ul>
      )}
    </nav>
  );
}

function ChatItem({ chat, me, open, typing, online }: {
  chat: Chat; me: string; open: boolean; typing: string; online: boolean;
}) {
  const name = chatName(chat, me);
  const unread = chat.unreadCount;
  return (
    <li>
      <a href={chatHref(chat.id)} class={`chat-item ${open ? "open" : ""} ${unread ? "has-unread" : ""}`}
         data-testid="chat-item" data-chat-id={chat.id} aria-current={open ? "page" : undefined}
         aria-label={[name, unread ? `${unread} unread` : "", typing
           || (chat.lastMessage ? preview(chat.lastMessage, me) : "")].filter(Boolean).join(", ")}>
        <span class={`avatar ${online ? "online" : ""}`} aria-hidden="true">
          {name.slice(0, 1).toUpperCase()}
        </span>
        <span class="chat-text">
          <span class="chat-top">
            <span class="chat-name">{name}</span>
            <span class="chat-time">{when(chat.lastMessage?.createdAt ?? chat.createdAt)}</span>
          </span>
          <span class="chat-bottom">
            <span class={`chat-preview ${typing ? "typing-preview" : ""}`}>
              {typing || (chat.lastMessage ? preview(chat.lastMessage, me) : "No messages yet")}
            </span>
            {(chat.unreadMentions ?? 0) > 0 && (
              <span class="mentions" data-testid="unread-mentions"
                    title={`You were mentioned ${chat.unreadMentions} times`}>@{chat.unreadMentions}</span>
            )}
            <span class="unread" data-testid="unread" hidden={unread === 0}>{unread}</span>
          </span>
        </span>
      </a>
    </li>
  );
}

function NewChat({ client, onDone }: { client: ChatClient; onDone: () => void }) {
  const [title, setTitle] = useState("");
  const [members, setMembers] = useState("");
  const [direct, setDirect] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const membersRef = useRef<HTMLInputElement>(null);
  // `autofocus` only works once per page load; the form opens later.
  useEffect(() => membersRef.current?.focus(), []);

  async function create(e: Event) {
    e.preventDefault();
    const ids = [...new Set(members.split(",").map((s) => s.trim()).filter(Boolean))];
    if (ids.length === 0) {
      setError("Name at least one member by user id.");
      membersRef.current?.focus();
      return;
    }
    if (direct && ids.length !== 1) {
      setError("A direct chat is with exactly one other person.");
      membersRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const chatId = direct ? await client.openDirect(ids[0]!) : await client.createChat(ids, title.trim());
      onDone();
      location.hash = chatHref(chatId);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  }

  return (
    <form class="new-chat" onSubmit={create} aria-label="New chat">
      <label for="new-chat-members">Members</label>
      <input id="new-chat-members" data-testid="new-chat-members" ref={membersRef}
             placeholder="user ids, comma-separated" autocapitalize="none" spellcheck={false}
             aria-describedby="new-chat-members-hint"
             value={members} onInput={(e) => setMembers(e.currentTarget.value)} />
      <p id="new-chat-members-hint" class="hint small">
        {direct ? "The one person to chat with, for example: bob" : "For example: bob, carol"}
      </p>
      <label class="check">
        <input type="checkbox" data-testid="new-chat-direct" checked={direct}
               onChange={(e) => setDirect(e.currentTarget.checked)} />
        Direct chat (just the two of you)
      </label>
      {!direct && <label for="new-chat-title">Title <span class="muted">(optional)</span></label>}
      {!direct && (
        <input id="new-chat-title" maxLength={200} value={title}
               onInput={(e) => setTitle(e.currentTarget.value)} />
      )}
      {error && <p class="error" role="alert">{error}</p>}
      <button type="submit" class="primary" data-testid="create-chat" disabled={busy}>
        {direct ? "Open direct chat" : "Create chat"}
      </button>
    </form>
  );
}
