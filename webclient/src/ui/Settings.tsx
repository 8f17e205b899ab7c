import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import type { ChatClient } from "../client";
import type { PrivacySettings } from "../types";

/** Privacy (GET / PATCH /api/me/settings) and erasing one's account (DELETE /api/me). */
export function Settings({ client, onErased }: { client: ChatClient; onErased: () => void }) {
  const [settings, setSettings] = useState<PrivacySettings | null>(null);
  const [unavailable, setUnavailable] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [erasing, setErasing] = useState(false);
  const [confirmText, setConfirmText] = useState("");
  const first = useRef<HTMLInputElement>(null);

  useEffect(() => {
    client.api.settings().then((s) => setSettings(s), (err: Error) => {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) setUnavailable(true);
      else setError(err.message);
    });
  }, [client]);
  useEffect(() => { if (settings) first.current?.focus(); }, [settings !== null]);

  async function change(next: Partial<PrivacySettings>) {
    setError(null);
    try {
      setSettings(await client.api.changeSettings(next));
    } catch (err) {
      setError((err as Error).message);
    }
  }

  async function erase(e: Event) {
    e.preventDefault();
    setError(null);
    try {
      await client.api.eraseMe();
      onErased();
    } catch (err) {
      const missing = err instanceof ApiError && (err.status === 404 || err.status === 405);
      setError(missing ? "This server cannot delete accounts." : (err as Error).message);
    }
  }

  return (
    <section class="settings" aria-label="Settings" data-testid="settings">
      <h3>Privacy</h3>
      {unavailable ? <p class="muted small">This server has no privacy settings.</p>
        : !settings ? <p class="muted small">Loading…</p> : (
          <>
            <label class="check">
              <input type="checkbox" ref={first} data-testid="setting-read-receipts"
                     checked={settings.readReceipts}
                     onChange={(e) => void change({ readReceipts: e.currentTarget.checked })} />
              Send read receipts
            </label>
            <p class="hint small">Off: nobody sees what you read (and your own ticks still work).</p>
            <label class="check">
              <input type="checkbox" data-testid="setting-last-seen" checked={settings.lastSeen}
                     onChange={(e) => void change({ lastSeen: e.currentTarget.checked })} />
              Show when I was last online
            </label>
          </>
        )}
      <h3>Account</h3>
      {!erasing ? (
        <button type="button" class="link danger-text" onClick={() => setErasing(true)}>
          Delete my account…
        </button>
      ) : (
        <form onSubmit={erase}>
          <p class="small">
            Everything you wrote becomes unreadable for everyone, for good. Type your user id
            (<b>{client.me}</b>) to confirm.
          </p>
          <label for="erase-confirm" class="visually-hidden">Your user id</label>
          <input id="erase-confirm" data-testid="erase-confirm" autocapitalize="none" spellcheck={false}
                 value={confirmText} onInput={(e) => setConfirmText(e.currentTarget.value)} />
          <div class="row">
            <button type="submit" class="danger" data-testid="erase-account"
                    disabled={confirmText.trim() !== client.me}>
              Delete my account
            </button>
            <button type="button" class="link" onClick={() => setErasing(false)}>Cancel</button>
          </div>
        </form>
      )}
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}
