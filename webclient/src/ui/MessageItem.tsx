import { Component } from "preact";
import { clock } from "../format";
import { RECEIPT_LABEL, type ReceiptState } from "../receipts";
import type { Pending } from "../store";
import type { Message } from "../types";

interface Props {
  message: Message;
  mine: boolean;
  showSender: boolean;
  receipt: ReceiptState | null;
}

/** One message. Re-renders only when its own props change, so a long timeline
 * costs little on each typing or presence event. */
export class MessageItem extends Component<Props> {
  shouldComponentUpdate(next: Props): boolean {
    const p = this.props;
    return next.message !== p.message || next.receipt !== p.receipt
      || next.showSender !== p.showSender || next.mine !== p.mine;
  }

  render({ message: m, mine, showSender, receipt }: Props) {
    const deleted = m.deleted === true;
    return (
      <li class={`message ${mine ? "mine" : "theirs"} ${showSender ? "first" : ""}`}
          data-testid="message" data-message-id={m.id} data-seq={m.seq}>
        <div class="bubble">
          {showSender && <div class="sender">{m.senderId}</div>}
          <p class={`content ${deleted ? "deleted" : ""}`}>
            {deleted ? "This message was deleted" : m.content}
          </p>
          <div class="meta">
            {m.editedAt && <span class="edited">edited</span>}
            <time dateTime={m.createdAt}>{clock(m.createdAt)}</time>
            {receipt && <ReceiptTick state={receipt} />}
          </div>
        </div>
        <MessageActions message={m} mine={mine} />
      </li>
    );
  }
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

/** Where a message's actions go (edit, delete, react, reply, thread, pin: the
 * contract's "Messages over time"). The server of this release has none of
 * them yet, so nothing is offered; each lands here with its event. */
function MessageActions(_: { message: Message; mine: boolean }) {
  return null;
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
