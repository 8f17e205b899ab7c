import { useEffect, useState } from "preact/hooks";
import type { Store } from "../store";

/** Re-renders the caller whenever the store changes (batched per task). */
export function useStore(store: Store): number {
  const [, setVersion] = useState(store.version);
  useEffect(() => store.subscribe(() => setVersion(store.version)), [store]);
  return store.version;
}

/** The open chat is in the URL's hash (#/chats/<id>), so Back and reloads work. */
export function useHashRoute(): string | null {
  const parse = () => {
    const match = /^#\/chats\/([^/?#]+)/.exec(location.hash);
    return match ? decodeURIComponent(match[1]!) : null;
  };
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const onChange = () => setRoute(parse());
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

export function chatHref(chatId: string): string {
  return `#/chats/${encodeURIComponent(chatId)}`;
}
