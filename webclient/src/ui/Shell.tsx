import { useEffect } from "preact/hooks";
import type { ChatClient } from "../client";
import { ChatView } from "./ChatView";
import { Sidebar } from "./Sidebar";
import { chatHref, useHashRoute, useStore } from "./useStore";

/** Wide: the chat list beside the open chat. Narrow: one of them at a time. */
export function Shell({ client, onSignOut }: {
  client: ChatClient;
  onSignOut: (why?: string) => void;
}) {
  useStore(client.store);
  const route = useHashRoute();
  const store = client.store;

  useEffect(() => client.openChat(route), [client, route]);
  useEffect(() => {
    // An invite link (#/invite/<code>): join, then open the chat.
    const onHash = () => {
      const code = /^#\/invite\/([^/?#]+)/.exec(location.hash)?.[1];
      if (!code) return;
      history.replaceState(null, "", location.pathname);
      client.acceptInvite(decodeURIComponent(code)).then(
        (chatId) => { location.hash = chatHref(chatId); },
        (err: Error) => store.setNotice(err.message));
    };
    onHash();
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, [client]);
  useEffect(() => {
    if (store.chatsLoaded) performance.mark("eschat:chat-list");
  }, [store.chatsLoaded]);
  const unread = [...store.chats.values()].reduce((n, c) => n + c.unreadCount, 0);
  useEffect(() => {
    document.title = unread ? `(${unread}) eschat` : "eschat";
  }, [unread]);

  return (
    <div class={`shell ${route ? "has-chat" : ""}`}>
      <Sidebar client={client} openChatId={route} onSignOut={onSignOut} />
      <main class="pane" aria-label="Chat">
        {store.notice && (
          <div class="banner" role="alert">
            <span>{store.notice}</span>
            <button type="button" class="link" onClick={() => store.setNotice(null)}>Dismiss</button>
          </div>
        )}
        {route ? (
          <ChatView key={route} client={client} chatId={route} />
        ) : (
          <div class="empty-pane">
            <p>Pick a chat, or start a new one.</p>
          </div>
        )}
      </main>
    </div>
  );
}
