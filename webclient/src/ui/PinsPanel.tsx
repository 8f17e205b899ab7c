import { useEffect, useState } from "preact/hooks";
import type { ChatClient } from "../client";
import { clock, showMessage } from "../format";
import type { Chat, Message } from "../types";
import { Panel } from "./Panel";

/** The chat's pinned messages, latest pin first (GET .../pins), asked again
 * whenever a pin changes in the chat. */
export function PinsPanel({ client, chat, onClose }: {
  client: ChatClient;
  chat: Chat;
  onClose: () => void;
}) {
  const [pins, setPins] = useState<Message[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const pinnedHere = (client.store.timelines.get(chat.id)?.messages ?? [])
    .filter((m) => m.pinned).map((m) => m.id).join(",");

  useEffect(() => {
    let live = true;
    client.api.pins(chat.id).then((list) => { if (live) setPins(list); },
      (err: Error) => { if (live) setError(err.message); });
    return () => { live = false; };
  }, [client, chat.id, pinnedHere]);

  return (
    <Panel id="pins-panel" title="Pinned" onClose={onClose}>
      {error && <p class="error" role="alert">{error}</p>}
      {!pins ? <p class="muted">Loading…</p>
        : pins.length === 0 ? <p class="muted">Nothing is pinned.</p> : (
          <ul class="pin-list" data-testid="pins">
            {pins.map((m) => (
              <li key={m.id} data-message-id={m.id}>
                <button type="button" class="pin" title="Show it in the chat"
                        onClick={() => showMessage(m.id)}>
                  <span class="sender">{m.senderId}</span>
                  <span class="muted small"> {clock(m.createdAt)}</span>
                  <p>{m.deleted ? "This message was deleted" : m.content}</p>
                </button>
              </li>
            ))}
          </ul>
        )}
    </Panel>
  );
}
