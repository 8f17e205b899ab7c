import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ChatClient } from "../client";
import { chatName, isAdmin, lastSeen, otherMembers, typingLine } from "../format";
import type { Message } from "../types";
import { Composer, type Draft } from "./Composer";
import { EditsPanel } from "./EditsPanel";
import { MembersPanel } from "./MembersPanel";
import type { MessageActions } from "./MessageItem";
import { MessageList } from "./MessageList";
import { PinsPanel } from "./PinsPanel";
import { ThreadPanel } from "./ThreadPanel";

type SidePanel =
  | { kind: "members" }
  | { kind: "pins" }
  | { kind: "thread"; rootId: string }
  | { kind: "edits"; message: Message }
  | null;

/** One chat: header (name, presence, members, pins), the timeline, typing, the
 * composer, and one side panel at a time (members, pins, a thread, an edit history). */
export function ChatView({ client, chatId }: { client: ChatClient; chatId: string }) {
  const store = client.store;
  const chat = store.chats.get(chatId);
  const timeline = store.timelines.get(chatId);
  const [panel, setPanel] = useState<SidePanel>(null);
  const [draft, setDraft] = useState<Draft>(null);
  const composerRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    // Opening a chat from the list puts the cursor where one types.
    if (matchMedia("(pointer: fine)").matches || document.activeElement?.closest(".chat-item")) {
      composerRef.current?.focus();
    }
  }, [chatId]);

  // One object for the chat's lifetime, so messages do not re-render for it.
  const actions = useMemo<MessageActions>(() => {
    const report = (p: Promise<void>) => p.catch((err: Error) => store.setNotice(err.message));
    return {
      me: client.me,
      react: (m, emoji) => void report(client.toggleReaction(m, emoji)),
      reply: (m) => setDraft({ kind: "reply", message: m }),
      openThread: (m) => setPanel({ kind: "thread", rootId: m.id }),
      edit: (m) => setDraft({ kind: "edit", message: m }),
      remove: (m) => {
        if (confirm("Delete this message for everyone?")) void report(client.delete(m));
      },
      pin: (m) => void report(client.togglePin(m)),
      showEdits: (m) => setPanel({ kind: "edits", message: m }),
      report: (m) => {
        const reason = prompt(`Why report this message from ${m.senderId} to the chat's admins?`);
        if (reason === null) return;
        void report(client.api.report(m.chatId, m.id, reason.trim() || "no reason given")
          .then(() => store.setNotice("Reported to the chat's admins.")));
      },
    };
  }, [client, store]);

  if (!chat) {
    return (
      <section class="chat">
        <header class="chat-head"><a class="back" href="#/">‹ Chats</a></header>
        <p class="muted pad">{timeline?.error ?? "Loading…"}</p>
      </section>
    );
  }

  const others = otherMembers(chat, client.me);
  const onlineOthers = others.filter((u) => store.presence.get(u)?.online);
  const presenceText = others.length === 0 ? "only you"
    : others.length === 1 ? lastSeen(store.presence.get(others[0]!))
    : `${onlineOthers.length} of ${others.length} others online`;
  const name = chatName(chat, client.me);
  const moderator = isAdmin(chat, client.me);
  const toggle = (kind: "members" | "pins") => setPanel(panel?.kind === kind ? null : { kind });
  const close = () => setPanel(null);
  const muted = store.isMuted(chatId, client.me);

  return (
    <section class={`chat ${panel ? "with-panel" : ""}`} aria-label={name}>
      <div class="chat-main">
        <header class="chat-head">
          <a class="back" href="#/" aria-label="Back to chats">‹</a>
          <div class="chat-title">
            <h2>{name}</h2>
            <span class="presence" data-testid="presence" data-online={String(onlineOthers.length > 0)}>
              <span class="dot" aria-hidden="true" />
              {presenceText}
            </span>
          </div>
          <button type="button" class="link" aria-expanded={panel?.kind === "pins"}
                  aria-controls="pins-panel" data-testid="open-pins" onClick={() => toggle("pins")}>
            Pins
          </button>
          <button type="button" class="link" aria-expanded={panel?.kind === "members"}
                  aria-controls="members-panel" onClick={() => toggle("members")}>
            Members ({chat.memberIds.length})
          </button>
        </header>
        <MessageList client={client} chat={chat} timeline={timeline} actions={actions}
                     moderator={moderator} />
        <p class="typing" data-testid="typing" aria-live="polite">
          {typingLine(store.typingIn(chatId))}
        </p>
        <Composer client={client} chatId={chatId} inputRef={composerRef} draft={draft}
                  members={chat.memberIds}
                  onDraftDone={() => setDraft(null)}
                  mutedUntil={muted ? (store.mutes.get(chatId)?.get(client.me) ?? null) : undefined} />
      </div>
      {panel?.kind === "members" && <MembersPanel client={client} chat={chat} onClose={close} />}
      {panel?.kind === "pins" && <PinsPanel client={client} chat={chat} onClose={close} />}
      {panel?.kind === "thread" && (
        <ThreadPanel key={panel.rootId} client={client} chat={chat} rootId={panel.rootId}
                     actions={actions} moderator={moderator} onClose={close} />
      )}
      {panel?.kind === "edits" && (
        <EditsPanel client={client} message={panel.message} onClose={close} />
      )}
    </section>
  );
}
