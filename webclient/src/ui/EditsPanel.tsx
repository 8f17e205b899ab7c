import { useEffect, useState } from "preact/hooks";
import type { ChatClient } from "../client";
import { clock } from "../format";
import type { Message, MessageVersion } from "../types";
import { Panel } from "./Panel";

/** Every version of one message, the original first: the audit trail the log keeps. */
export function EditsPanel({ client, message, onClose }: {
  client: ChatClient;
  message: Message;
  onClose: () => void;
}) {
  const [versions, setVersions] = useState<MessageVersion[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    client.api.edits(message.chatId, message.id).then((list) => { if (live) setVersions(list); },
      (err: Error) => { if (live) setError(err.message); });
    return () => { live = false; };
  }, [client, message.id, message.editedAt]);

  return (
    <Panel id="edits-panel" title="Edit history" onClose={onClose}>
      {error && <p class="error" role="alert">{error}</p>}
      {!versions ? <p class="muted">Loading…</p> : (
        <ol class="version-list" data-testid="edits">
          {versions.map((v, i) => (
            <li key={v.seq}>
              <span class="muted small">{i === 0 ? "Sent" : "Edited"} {clock(v.editedAt)}</span>
              <p>{v.content ?? <span class="muted">(deleted)</span>}</p>
            </li>
          ))}
        </ol>
      )}
    </Panel>
  );
}
