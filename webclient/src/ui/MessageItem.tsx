import { Component } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { clock, showMessage, withMentions } from "../format";
import { RECEIPT_LABEL, type ReceiptState } from "../receipts";
import type { Pending } from "../store";
import type { Message } from "../types";

export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢"];

/** What a person can do to a message; ChatView decides where each one leads. */
export interface MessageActions {
  me: string;
  react(m: Message, emoji: string): void;
  reply(m: Message): void;
  openThread(m: Message): void;
  edit(m: Message): void;
  remove(m: Message): void;
  pin(m: Message): void;
  showEdits(m: Message): void;
  report(m: Message): void;
}

interface Props {
  message: Message;
  mine: boolean;
  showSender: boolean;
  receipt: ReceiptState | null;
  actions: MessageActions;
  /** The chat's admin powers: delete others' messages, pin. */
  moderator: boolean;
  /** The message this one quotes, when it is loaded here. */
  quoted: Message | null;
  /** Shown inside its thread's panel: no thread summary, no "reply in thread". */
  inThread?: boolean;
}

/** One message. Re-renders only when its own props change, so a long timeline
 * costs little on each typing or presence event. */
export class MessageItem extends Component<Props> {
  shouldComponentUpdate(next: Props): boolean {
    const p = this.props;
    return next.message !== p.message || next.receipt !== p.receipt
      || next.showSender !== p.showSender || next.mine !== p.mine
      || next.moderator !== p.moderator || next.quoted !== p.quoted || next.actions !== p.actions;
  }

  render({ message: m, mine, showSender, receipt, actions, moderator, quoted, inThread }: Props) {
    const gone = m.deleted === true || m.erased === true;
    const reactions = Object.entries(m.reactions ?? {}).filter(([, users]) => users.length > 0);
    return (
      <li class={`message ${mine ? "mine" : "theirs"} ${showSender ? "first" : ""}`}
          data-testid="message" data-message-id={m.id} data-seq={m.seq}
          data-deleted={String(m.deleted === true)} tabIndex={-1}>
        <div class="bubble-row">
          <div class="bubble">
            {showSender && <div class="sender">{m.senderId}</div>}
            {m.pinned && <div class="pinned-mark" data-testid="pinned">📌 Pinned</div>}
            {m.replyTo && <Quote quoted={quoted} targetId={m.replyTo} />}
            <p class={`content ${gone ? "deleted" : ""}`}>
              {m.deleted ? "This message was deleted"
                : m.erased ? "This message was erased"
                : <Content content={m.content ?? ""} mentions={m.mentions ?? []} me={actions.me} />}
            </p>
            <div class="meta">
              {m.editedAt && !gone && (
                <button type="button" class="link edited" data-testid="edited"
                        onClick={() => actions.showEdits(m)} title="Show the earlier versions">
                  edited
                </button>
              )}
              <time dateTime={m.createdAt}>{clock(m.createdAt)}</time>
              {receipt && <ReceiptTick state={receipt} />}
            </div>
          </div>
          {!gone && <ActionsMenu message={m} mine={mine} moderator={moderator} actions={actions}
                                 inThread={inThread === true} />}
        </div>
        {reactions.length > 0 && (
          <div class="reactions" data-testid="reactions">
            {reactions.map(([emoji, users]) => {
              const pressed = users.includes(actions.me);
              return (
                <button key={emoji} type="button" class={`reaction ${pressed ? "pressed" : ""}`}
                        data-testid="reaction" data-emoji={emoji} aria-pressed={pressed}
                        title={users.join(", ")} disabled={gone}
                        onClick={() => actions.react(m, emoji)}>
                  {emoji} <span class="count">{users.length}</span>
                </button>
              );
            })}
          </div>
        )}
        {!inThread && (m.threadReplyCount ?? 0) > 0 && (
          <button type="button" class="link thread-summary" data-testid="thread-summary"
                  onClick={() => actions.openThread(m)}>
            {m.threadReplyCount === 1 ? "1 reply" : `${m.threadReplyCount} replies`}
            {m.threadLastReplyAt && <span class="muted"> · last {clock(m.threadLastReplyAt)}</span>}
          </button>
        )}
      </li>
    );
  }
}

function Content({ content, mentions, me }: { content: string; mentions: string[]; me: string }) {
  return (
    <>
      {withMentions(content, mentions).map((part, i) => part.mention
        ? <span key={i} class={`mention ${part.text === `@${me}` ? "me" : ""}`}>{part.text}</span>
        : part.text)}
    </>
  );
}

function Quote({ quoted, targetId }: { quoted: Message | null; targetId: string }) {
  const text = !quoted ? "an earlier message"
    : quoted.deleted ? "a deleted message"
    : quoted.erased ? "an erased message"
    : (quoted.content ?? "").replace(/\s+/g, " ").slice(0, 140);
  return (
    <blockquote class="quote" data-testid="quote" title="Show the quoted message"
                onClick={() => showMessage(targetId)}>
      {quoted && <span class="quote-sender">{quoted.senderId}</span>}
      <span class="quote-text">{text}</span>
    </blockquote>
  );
}

/** One button per message opens its actions, so the keyboard does not have to
 * pass a whole toolbar for each message of a long timeline. */
function ActionsMenu({ message: m, mine, moderator, actions, inThread }: {
  message: Message; mine: boolean; moderator: boolean; actions: MessageActions; inThread: boolean;
}) {
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector<HTMLButtonElement>("button")?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape") return;
      e.stopPropagation();
      setOpen(false);
      toggle.current?.focus();
    };
    const onClick = (e: MouseEvent) => {
      if (!menu.current?.parentElement?.contains(e.target as Node)) setOpen(false);
    };
    addEventListener("keydown", onKey, true);
    addEventListener("mousedown", onClick);
    return () => {
      removeEventListener("keydown", onKey, true);
      removeEventListener("mousedown", onClick);
    };
  }, [open]);

  const run = (action: (m: Message) => void) => () => {
    setOpen(false);
    action(m);
  };
  return (
    <div class={`message-actions ${open ? "open" : ""}`}>
      <button type="button" class="actions-toggle" ref={toggle} aria-haspopup="true"
              aria-expanded={open} aria-label="Message actions" data-testid="message-actions"
              onClick={() => setOpen(!open)}>
        ⋯
      </button>
      {open && (
        <div class="actions-menu" ref={menu} role="group" aria-label="Message actions">
          <div class="quick-reactions" role="group" aria-label="React">
            {QUICK_REACTIONS.map((emoji) => (
              <button key={emoji} type="button" data-testid="react" data-emoji={emoji}
                      aria-label={`React ${emoji}`} onClick={run((x) => actions.react(x, emoji))}>
                {emoji}
              </button>
            ))}
          </div>
          <button type="button" data-testid="action-reply" onClick={run(actions.reply)}>Reply</button>
          {!inThread && !m.threadId && (
            <button type="button" data-testid="action-thread" onClick={run(actions.openThread)}>
              Reply in thread
            </button>
          )}
          {mine && (
            <button type="button" data-testid="action-edit" onClick={run(actions.edit)}>Edit</button>
          )}
          {moderator && !m.threadId && (
            <button type="button" data-testid="action-pin" onClick={run(actions.pin)}>
              {m.pinned ? "Unpin" : "Pin"}
            </button>
          )}
          {!mine && (
            <button type="button" data-testid="action-report" onClick={run(actions.report)}>
              Report to admins
            </button>
          )}
          {(mine || moderator) && (
            <button type="button" class="danger" data-testid="action-delete" onClick={run(actions.remove)}>
              Delete
            </button>
          )}
        </div>
      )}
    </div>
  );
}

function ReceiptTick({ state }: { state: ReceiptState }) {
  const label = RECEIPT_LABEL[state];
  return (
    <span class="receipt" data-testid="receipt" data-state={state} role="img" aria-label={label}
          title={label}>
      {state === "sent" ? "✓" : "✓✓"}
    </span>
  );
}

export function PendingItem({ pending, onRetry, onDiscard }: {
  pending: Pending;
  onRetry: () => void;
  onDiscard: () => void;
}) {
  return (
    <li class={`message mine pending ${pending.error ? "failed" : ""}`}
        data-client-message-id={pending.clientMessageId}>
      <div class="bubble">
        <p class="content">{pending.content}</p>
        <div class="meta">
          <time dateTime={pending.createdAt}>{clock(pending.createdAt)}</time>
          <span class="receipt" data-state={pending.error ? "failed" : "sending"} role="img"
                aria-label={pending.error ? "Not sent" : "Sending"}
                title={pending.error ? "Not sent" : "Sending"}>
            {pending.error ? "!" : "◷"}
          </span>
        </div>
      </div>
      {pending.error && (
        <div class="failed-row" role="alert">
          <span>Not sent: {pending.error}</span>
          <button type="button" class="link" onClick={onRetry}>Retry</button>
          <button type="button" class="link" onClick={onDiscard}>Discard</button>
        </div>
      )}
    </li>
  );
}
