import type { RefObject } from "preact";
import { useEffect, useState } from "preact/hooks";
import { type ChatClient, MAX_CONTENT } from "../client";
import type { Message } from "../types";

/** What the composer is doing besides writing a new message. */
export type Draft = { kind: "reply"; message: Message } | { kind: "edit"; message: Message } | null;

/** Enter sends, Shift+Enter starts a new line, Escape drops a reply or an edit.
 * Sending works offline too: the message waits, shown as sending, until the
 * connection is back. In a thread's panel it writes into that thread. */
/** The `@prefix` being typed just before the caret, if any. */
function mentionAt(text: string, caret: number): { start: number; prefix: string } | null {
  const match = /(^|\s)@([^\s@]*)$/.exec(text.slice(0, caret));
  return match ? { start: caret - match[2]!.length - 1, prefix: match[2]! } : null;
}

export function Composer({ client, chatId, inputRef, threadId = null, draft = null, onDraftDone,
                           mutedUntil = undefined, id = "composer", members = [] }: {
  client: ChatClient;
  chatId: string;
  /** Who can be @mentioned here (suggested while typing `@`). */
  members?: string[];
  inputRef: RefObject<HTMLTextAreaElement | null>;
  threadId?: string | null;
  draft?: Draft;
  onDraftDone?: () => void;
  /** Set when the user is muted here: null for an open-ended mute. */
  mutedUntil?: string | null;
  id?: string;
}) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [mention, setMention] = useState<{ start: number; prefix: string } | null>(null);
  const [picked, setPicked] = useState(0);
  const suggestions = mention === null ? [] : members
    .filter((u) => u !== client.me && u.toLowerCase().startsWith(mention.prefix.toLowerCase()))
    .slice(0, 6);

  function complete(userId: string) {
    const el = inputRef.current;
    if (!el || !mention) return;
    const caret = el.selectionStart ?? text.length;
    const next = `${text.slice(0, mention.start)}@${userId} ${text.slice(caret)}`;
    const at = mention.start + userId.length + 2;
    // Straight into the element, so the caret is right for the very next keystroke.
    el.value = next;
    el.setSelectionRange(at, at);
    el.focus();
    setText(next);
    setMention(null);
  }

  // Starting an edit puts the message's text in the box; dropping it empties the box.
  useEffect(() => {
    if (draft?.kind === "edit") setText(draft.message.content ?? "");
    if (draft) inputRef.current?.focus();
  }, [draft]);

  async function send() {
    if (draft?.kind === "edit") {
      setBusy(true);
      try {
        await client.edit(draft.message, text);
        setText("");
        setError(null);
        onDraftDone?.();
      } catch (err) {
        setError((err as Error).message);
      } finally {
        setBusy(false);
      }
      return;
    }
    const problem = client.send(chatId, text, {
      ...(draft?.kind === "reply" ? { replyTo: draft.message.id } : {}),
      ...(threadId ? { threadId } : {}),
    });
    setError(problem);
    if (problem === null && text.trim()) {
      setText("");
      onDraftDone?.();
    }
  }

  function cancel() {
    if (draft?.kind === "edit") setText("");
    setError(null);
    onDraftDone?.();
  }

  if (mutedUntil !== undefined) {
    return (
      <div class="composer muted-notice" data-testid="muted" role="status">
        {mutedUntil === null ? "You are muted in this chat."
          : `You are muted in this chat until ${new Date(mutedUntil).toLocaleString()}.`}
      </div>
    );
  }

  const label = draft?.kind === "edit" ? "Edit message" : threadId ? "Reply in thread" : "Message";
  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); void send(); }}>
      {draft && (
        <div class="draft-bar" data-testid="draft">
          <span>
            {draft.kind === "edit" ? "Editing your message" : `Replying to ${draft.message.senderId}: `}
            {draft.kind === "reply" && (
              <span class="muted">{(draft.message.content ?? "").slice(0, 80)}</span>
            )}
          </span>
          <button type="button" class="link" onClick={cancel}>Cancel</button>
        </div>
      )}
      <label for={id} class="visually-hidden">{label}</label>
      <textarea
        id={id} data-testid={id === "composer" ? "composer" : `${id}`} ref={inputRef} rows={1}
        placeholder={threadId ? "Reply in thread" : "Write a message"} maxLength={MAX_CONTENT}
        aria-describedby={`${id}-error`} value={text}
        aria-autocomplete="list" aria-controls={`${id}-mentions`}
        aria-activedescendant={suggestions.length ? `${id}-mention-${picked}` : undefined}
        onInput={(e) => {
          const el = e.currentTarget;
          setText(el.value);
          setMention(mentionAt(el.value, el.selectionStart ?? el.value.length));
          setPicked(0);
          if (el.value.trim() && draft?.kind !== "edit") client.typed(chatId);
        }}
        onKeyDown={(e) => {
          if (suggestions.length > 0 && !e.isComposing) {
            if (e.key === "ArrowDown" || e.key === "ArrowUp") {
              e.preventDefault();
              const step = e.key === "ArrowDown" ? 1 : suggestions.length - 1;
              setPicked((picked + step) % suggestions.length);
              return;
            }
            if (e.key === "Tab" || (e.key === "Enter" && !e.shiftKey)) {
              e.preventDefault();
              complete(suggestions[Math.min(picked, suggestions.length - 1)]!);
              return;
            }
            if (e.key === "Escape") {
              e.preventDefault();
              e.stopPropagation();
              setMention(null);
              return;
            }
          }
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            void send();
          } else if (e.key === "Escape" && draft) {
            e.preventDefault();
            e.stopPropagation();
            cancel();
          }
        }}
        onBlur={() => { client.stopTyping(); setTimeout(() => setMention(null), 150); }}
      />
      {suggestions.length > 0 && (
        <ul class="mention-suggestions" id={`${id}-mentions`} role="listbox" data-testid="mention-suggestions"
            aria-label="Mention a member">
          {suggestions.map((u, i) => (
            <li key={u} id={`${id}-mention-${i}`} role="option" aria-selected={i === picked}
                class={i === picked ? "picked" : ""}
                onMouseDown={(e) => { e.preventDefault(); complete(u); }}>
              @{u}
            </li>
          ))}
        </ul>
      )}
      <button type="submit" class="primary send" disabled={!text.trim() || busy}>
        {draft?.kind === "edit" ? "Save" : "Send"}
      </button>
      {error && <p id={`${id}-error`} class="error" role="alert">{error}</p>}
    </form>
  );
}
