import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatClient } from "../client";
import { chatName, lastSeen, otherMembers, typingLine } from "../format";
import { Composer } from "./Composer";
import { MembersPanel } from "./MembersPanel";
import { MessageList } from "./MessageList";

/** One chat: header (name, presence, members), the timeline, typing, the composer. */
export function ChatView({ client, chatId }: { client: ChatClient; chatId: string }) {
  const store = client.store;
  const chat = store.chats.get(chatId);
  const timeline = store.timelines.get(chatId);
  const [membersOpen, setMembersOpen] = useState(false);
  const composerRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    // Opening a chat from the list puts the cursor where one types.
    if (matchMedia("(pointer: fine)").matches || document.activeElement?.closest(".chat-item")) {
      composerRef.current?.focus();
    }
  }, [chatId]);

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

  return (
    <section class={`chat ${membersOpen ? "with-panel" : ""}`} aria-label={name}>
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
          <button type="button" class="link" aria-expanded={membersOpen} aria-controls="members-panel"
                  onClick={() => setMembersOpen(!membersOpen)}>
            Members ({chat.memberIds.length})
          </button>
        </header>
        <MessageList client={client} chat={chat} timeline={timeline} />
        <p class="typing" data-testid="typing" aria-live="polite">
          {typingLine(store.typingIn(chatId))}
        </p>
        <Composer client={client} chatId={chatId} inputRef={composerRef} />
      </div>
      {membersOpen && (
        <MembersPanel client={client} chat={chat} onClose={() => setMembersOpen(false)} />
      )}
    </section>
  );
}
