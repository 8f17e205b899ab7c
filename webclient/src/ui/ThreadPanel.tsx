import { useEffect, useRef } from "preact/hooks";
import type { ChatClient } from "../client";
import type { Chat } from "../types";
import { Composer } from "./Composer";
import { type MessageActions, MessageItem, PendingItem } from "./MessageItem";
import { Panel } from "./Panel";

/** A thread: its root, its replies (paged like history), and a composer that
 * writes into it. Replies never show in the main timeline. */
export function ThreadPanel({ client, chat, rootId, actions, moderator, onClose }: {
  client: ChatClient;
  chat: Chat;
  rootId: string;
  actions: MessageActions;
  moderator: boolean;
  onClose: () => void;
}) {
  const store = client.store;
  const root = store.findMessage(chat.id, rootId);
  const thread = store.threads.get(rootId);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const listRef = useRef<HTMLOListElement>(null);
  const count = thread?.messages.length ?? 0;

  useEffect(() => { void client.loadThread(chat.id, rootId); }, [client, chat.id, rootId]);
  useEffect(() => {
    const el = listRef.current?.parentElement;
    if (el) el.scrollTop = el.scrollHeight;
  }, [count]);

  const pending = store.pendingOf(chat.id, rootId);
  return (
    <Panel id="thread-panel" title="Thread" onClose={onClose}>
      <div class="thread-body" data-testid="thread">
        {root && (
          <ol class="message-list thread-root">
            <MessageItem message={root} mine={root.senderId === client.me} showSender receipt={null}
                         actions={actions} moderator={moderator} quoted={null} inThread />
          </ol>
        )}
        {thread?.nextBefore != null && (
          <button type="button" class="link" disabled={thread.loadingOlder}
                  onClick={() => void client.loadThread(chat.id, rootId, true)}>
            {thread.loadingOlder ? "Loading…" : "Earlier replies"}
          </button>
        )}
        {!thread?.loaded ? <p class="muted">{thread?.error ?? "Loading replies…"}</p>
          : count === 0 && pending.length === 0 ? <p class="muted">No replies yet.</p> : null}
        <ol class="message-list" ref={listRef}>
          {(thread?.messages ?? []).map((m) => (
            <MessageItem key={m.id} message={m} mine={m.senderId === client.me}
                         showSender={m.senderId !== client.me} receipt={null} actions={actions}
                         moderator={moderator} quoted={null} inThread />
          ))}
          {pending.map((p) => (
            <PendingItem key={p.clientMessageId} pending={p}
                         onRetry={() => client.retry(p.clientMessageId)}
                         onDiscard={() => client.discard(p.clientMessageId)} />
          ))}
        </ol>
      </div>
      <Composer client={client} chatId={chat.id} threadId={rootId} inputRef={inputRef}
                id="thread-composer" members={chat.memberIds}
                mutedUntil={store.isMuted(chat.id, client.me)
                  ? (store.mutes.get(chat.id)?.get(client.me) ?? null) : undefined} />
    </Panel>
  );
}
