import { useEffect, useState } from "preact/hooks";
import type { ChatClient } from "../client";
import { isAdmin, isOwner, lastSeen } from "../format";
import type { Ban, Chat, Report } from "../types";
import { Panel } from "./Panel";

const MUTE_HOUR_MS = 60 * 60_000;

/** Who is in the chat, their roles and whether they are online. Admins add,
 * remove, ban and mute; the owner names admins and hands over ownership;
 * anyone leaves. In a direct chat: block or unblock the other person. */
export function MembersPanel({ client, chat, onClose }: {
  client: ChatClient;
  chat: Chat;
  onClose: () => void;
}) {
  const store = client.store;
  const [userId, setUserId] = useState("");
  const [error, setError] = useState<string | null>(null);
  const admin = isAdmin(chat, client.me);
  const owner = isOwner(chat, client.me);
  const direct = chat.kind === "direct";
  const [bans, setBans] = useState<Ban[]>([]);
  const [reports, setReports] = useState<Report[]>([]);
  const [moderationTick, setModerationTick] = useState(0);

  // Admins see who is muted (also after a reload) and who is banned.
  useEffect(() => {
    if (!admin) return;
    let live = true;
    client.loadModeration(chat.id).then((m) => {
      if (!live) return;
      setBans(m.bans);
      setReports(m.reports);
    },
      (err: Error) => { if (live) setError(err.message); });
    return () => { live = false; };
  }, [client, chat.id, admin, moderationTick]);
  const moderated = (action: () => Promise<void>) =>
    run(() => action().then(() => setModerationTick((n) => n + 1)));

  const run = (action: () => Promise<void>) => async () => {
    setError(null);
    try {
      await action();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  async function add(e: Event) {
    e.preventDefault();
    const id = userId.trim();
    if (!id) return;
    await run(async () => {
      await client.addMember(chat.id, id);
      setUserId("");
    })();
  }

  const members = [...chat.memberIds].sort((a, b) =>
    a === client.me ? -1 : b === client.me ? 1 : a.localeCompare(b));
  return (
    <Panel id="members-panel" title="Members" onClose={onClose}>
      {!direct && <ChatDetails client={client} chat={chat} editable={admin} />}
      <ul class="member-list">
        {members.map((u) => {
          const p = store.presence.get(u);
          const online = u === client.me ? store.connection === "connected" : p?.online === true;
          const role = isOwner(chat, u) ? "owner" : isAdmin(chat, u) ? "admin" : null;
          const muted = store.isMuted(chat.id, u);
          const others = u !== client.me && !direct;
          return (
            <li key={u} class="member" data-testid="member" data-user-id={u} data-role={role ?? "member"}>
              <span class={`avatar small ${online ? "online" : ""}`} aria-hidden="true">
                {u.slice(0, 1).toUpperCase()}
              </span>
              <span class="member-name" id={`member-${chat.id}-${u}`}>
                {u}{u === client.me && <span class="muted"> (you)</span>}
                {role && <span class="role">{role}</span>}
                {muted && <span class="role muted-role">muted</span>}
              </span>
              <span class="muted small">{u === client.me ? "" : lastSeen(p)}</span>
              {others && (admin || owner) && role !== "owner" && (
                <span class="member-actions">
                  {owner && (
                    <button type="button" class="link" aria-describedby={`member-${chat.id}-${u}`}
                            onClick={run(() => client.api.setAdmin(chat.id, u, role !== "admin")
                              .then(() => client.reloadChat(chat.id)))}>
                      {role === "admin" ? "Remove admin" : "Make admin"}
                    </button>
                  )}
                  {owner && (
                    <button type="button" class="link" aria-describedby={`member-${chat.id}-${u}`}
                            onClick={run(() => client.api.handOver(chat.id, u)
                              .then(() => client.reloadChat(chat.id)))}>
                      Make owner
                    </button>
                  )}
                  {admin && (
                    <button type="button" class="link" aria-describedby={`member-${chat.id}-${u}`}
                            onClick={run(() => muted ? client.api.unmute(chat.id, u)
                              : client.api.mute(chat.id, u, new Date(Date.now() + MUTE_HOUR_MS).toISOString()))}>
                      {muted ? "Unmute" : "Mute 1 h"}
                    </button>
                  )}
                  {admin && (
                    <button type="button" class="link" aria-describedby={`member-${chat.id}-${u}`}
                            onClick={run(() => client.removeMember(chat.id, u))}>
                      Remove
                    </button>
                  )}
                  {admin && (
                    <button type="button" class="link danger-text" aria-describedby={`member-${chat.id}-${u}`}
                            onClick={moderated(() => client.api.ban(chat.id, u)
                              .then(() => store.memberLeft(chat.id, u)))}>
                      Ban
                    </button>
                  )}
                </span>
              )}
            </li>
          );
        })}
      </ul>
      {!direct && admin && bans.length > 0 && (
        <section class="bans" aria-label="Banned">
          <h4>Banned</h4>
          <ul class="member-list">
            {bans.map((b) => (
              <li key={b.userId} class="member" data-testid="banned" data-user-id={b.userId}>
                <span class="avatar small" aria-hidden="true">{b.userId.slice(0, 1).toUpperCase()}</span>
                <span class="member-name">{b.userId}</span>
                <span class="muted small">by {b.by}</span>
                <span class="member-actions">
                  <button type="button" class="link"
                          onClick={moderated(() => client.api.unban(chat.id, b.userId))}>
                    Unban
                  </button>
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {!direct && admin && reports.length > 0 && (
        <section class="reports" aria-label="Reports">
          <h4>Reported messages</h4>
          <ul class="report-list" data-testid="reports">
            {reports.slice(-20).reverse().map((r) => {
              const m = store.findMessage(chat.id, r.messageId);
              return (
                <li key={r.id} data-message-id={r.messageId}>
                  <span class="small"><b>{r.reporterId}</b> reported
                    {m ? <> {m.senderId}: “{m.deleted ? "deleted" : (m.content ?? "").slice(0, 80)}”</> : " a message"}
                  </span>
                  {r.reason && <p class="muted small">{r.reason}</p>}
                </li>
              );
            })}
          </ul>
        </section>
      )}
      {!direct && admin && <InviteLink client={client} chat={chat} />}
      {!direct && admin && (
        <form class="add-member" onSubmit={add}>
          <label for="add-member">Add a member</label>
          <div class="row">
            <input id="add-member" placeholder="user id" autocapitalize="none" spellcheck={false}
                   value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
            <button type="submit">Add</button>
          </div>
        </form>
      )}
      {direct && <BlockToggle client={client} chat={chat} onError={setError} />}
      {error && <p class="error" role="alert">{error}</p>}
      {!direct && (
        <button type="button" class="danger"
                onClick={run(async () => { await client.leave(chat.id); location.hash = "#/"; })}>
          Leave chat
        </button>
      )}
    </Panel>
  );
}

/** Title and description; admins change them (PATCH /api/chats/{id}). */
function ChatDetails({ client, chat, editable }: { client: ChatClient; chat: Chat; editable: boolean }) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(chat.title ?? "");
  const [description, setDescription] = useState(chat.description ?? "");
  const [error, setError] = useState<string | null>(null);

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    try {
      await client.updateChat(chat.id, { title: title.trim(), description: description.trim() });
      setEditing(false);
    } catch (err) {
      setError((err as Error).message);
    }
  }

  if (!editing) {
    return (
      <div class="chat-details">
        {chat.description && <p class="description">{chat.description}</p>}
        {editable && (
          <button type="button" class="link" onClick={() => setEditing(true)}>Edit title and description</button>
        )}
      </div>
    );
  }
  return (
    <form class="chat-details" onSubmit={save}>
      <label for="chat-title">Title</label>
      <input id="chat-title" maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      <label for="chat-description">Description</label>
      <textarea id="chat-description" rows={2} maxLength={1000} value={description}
                onInput={(e) => setDescription(e.currentTarget.value)} />
      {error && <p class="error" role="alert">{error}</p>}
      <div class="row">
        <button type="submit" class="primary">Save</button>
        <button type="button" class="link" onClick={() => setEditing(false)}>Cancel</button>
      </div>
    </form>
  );
}

function BlockToggle({ client, chat, onError }: {
  client: ChatClient; chat: Chat; onError: (e: string | null) => void;
}) {
  const other = chat.memberIds.find((u) => u !== client.me);
  const [blocked, setBlocked] = useState<boolean | null>(null);
  useEffect(() => {
    client.api.blocks().then((list) => setBlocked(list.some((b) => b.userId === other)),
      () => setBlocked(null));
  }, [client, other]);
  if (!other || blocked === null) return null;
  return (
    <button type="button" class="danger" onClick={async () => {
      onError(null);
      try {
        await client.api.setBlocked(other, !blocked);
        setBlocked(!blocked);
      } catch (err) {
        onError((err as Error).message);
      }
    }}>
      {blocked ? `Unblock ${other}` : `Block ${other}`}
    </button>
  );
}

/** Admins make an invite link (POST .../invites); whoever opens it joins. */
function InviteLink({ client, chat }: { client: ChatClient; chat: Chat }) {
  const [invite, setInvite] = useState<{ code: string; link: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  async function create() {
    setError(null);
    try {
      const { code } = await client.api.createInvite(chat.id, 7 * 24 * 3600);
      setInvite({ code, link: `${location.origin}/#/invite/${encodeURIComponent(code)}` });
    } catch (err) {
      setError((err as Error).message);
    }
  }
  async function revoke() {
    if (!invite) return;
    setError(null);
    try {
      await client.api.revokeInvite(chat.id, invite.code);
      setInvite(null);
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <div class="invite">
      {invite ? (
        <>
          <label for="invite-link">Invite link <span class="muted">(valid 7 days)</span></label>
          <input id="invite-link" data-testid="invite-link" readOnly value={invite.link}
                 onFocus={(e) => e.currentTarget.select()} />
          <button type="button" class="link danger-text" data-testid="revoke-invite" onClick={revoke}>
            Revoke this link
          </button>
        </>
      ) : (
        <button type="button" class="link" data-testid="create-invite" onClick={create}>
          Create an invite link
        </button>
      )}
      {error && <p class="error" role="alert">{error}</p>}
    </div>
  );
}
