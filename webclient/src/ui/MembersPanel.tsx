import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatClient } from "../client";
import { lastSeen } from "../format";
import type { Chat } from "../types";

/** Who is in the chat and whether they are online; add someone, or leave.
 * Roles and the admins' actions ("Chats people run") go here as the server
 * gains them. */
export function MembersPanel({ client, chat, onClose }: {
  client: ChatClient;
  chat: Chat;
  onClose: () => void;
}) {
  const store = client.store;
  const [userId, setUserId] = useState("");
  const [error, setError] = useState<string | null>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    closeRef.current?.focus();
    const onKey = (e: KeyboardEvent) => { if (e.key === "Escape") onCloseRef.current(); };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);

  async function add(e: Event) {
    e.preventDefault();
    const id = userId.trim();
    if (!id) return;
    setError(null);
    try {
      await client.addMember(chat.id, id);
      setUserId("");
    } catch (err) {
      setError((err as Error).message);
    }
  }

  async function leave() {
    try {
      await client.leave(chat.id);
      location.hash = "#/";
    } catch (err) {
      setError((err as Error).message);
    }
  }

  const members = [...chat.memberIds].sort((a, b) =>
    a === client.me ? -1 : b === client.me ? 1 : a.localeCompare(b));
  return (
    <aside class="members" id="members-panel" aria-label="Members">
      <header class="panel-head">
        <h3>Members</h3>
        <button type="button" class="link" ref={closeRef} onClick={onClose}>Close</button>
      </header>
      <ul class="member-list">
        {members.map((u) => {
          const p = store.presence.get(u);
          const online = u === client.me ? store.connection === "connected" : p?.online === true;
          return (
            <li key={u} class="member">
              <span class={`avatar small ${online ? "online" : ""}`} aria-hidden="true">
                {u.slice(0, 1).toUpperCase()}
              </span>
              <span class="member-name">{u}{u === client.me && <span class="muted"> (you)</span>}</span>
              <span class="muted small">{u === client.me ? "" : lastSeen(p)}</span>
            </li>
          );
        })}
      </ul>
      <form class="add-member" onSubmit={add}>
        <label for="add-member">Add a member</label>
        <div class="row">
          <input id="add-member" placeholder="user id" autocapitalize="none" spellcheck={false}
                 value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
          <button type="submit">Add</button>
        </div>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      <button type="button" class="danger" onClick={leave}>Leave chat</button>
    </aside>
  );
}
