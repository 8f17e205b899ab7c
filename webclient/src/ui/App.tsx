import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ChatClient } from "../client";
import { type Credentials, forget, keep, restore } from "../session";
import { Login } from "./Login";
import { Shell } from "./Shell";

function started(credentials: Credentials, signedOut: (why: string) => void): ChatClient {
  const client = new ChatClient(credentials, signedOut);
  client.start();
  return client;
}

export function App() {
  const [notice, setNotice] = useState<string | null>(null);
  const signedOutRef = useRef<(why: string) => void>(() => {});
  const [client, setClient] = useState<ChatClient | null>(() => {
    const credentials = restore();
    return credentials ? started(credentials, (why) => signedOutRef.current(why)) : null;
  });

  const signOut = useCallback((why: string | null) => {
    setClient((current) => {
      current?.stop();
      return null;
    });
    forget();
    setNotice(why);
    if (location.hash) history.replaceState(null, "", location.pathname);
  }, []);
  signedOutRef.current = signOut;

  const signIn = useCallback((credentials: Credentials) => {
    keep(credentials);
    setNotice(null);
    setClient(started(credentials, (why) => signedOutRef.current(why)));
  }, []);

  useEffect(() => {
    if (client) performance.mark("eschat:signed-in");
  }, [client]);

  if (!client) return <Login onSignedIn={signIn} notice={notice} />;
  return <Shell client={client} onSignOut={(why) => signOut(why ?? null)} />;
}
