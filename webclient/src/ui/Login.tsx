import { useEffect, useState } from "preact/hooks";
import { Api, describeAuthError } from "../api";
import { type Credentials, fromToken } from "../session";

const api = new Api(() => null, () => {});

/** Log in, or sign up (register, then log in) with the same two fields. */
export function Login({ onSignedIn, notice }: {
  onSignedIn: (c: Credentials) => void;
  notice: string | null;
}) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The form is on screen and takes input (the browser test reads this mark).
  useEffect(() => { performance.mark("eschat:sign-in-form"); }, []);

  async function go(action: "login" | "register") {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      if (action === "register") await api.register(username.trim(), password);
      const { accessToken } = await api.login(username.trim(), password);
      const credentials = fromToken(accessToken);
      if (!credentials) throw new Error("The server sent a token this client cannot read.");
      onSignedIn(credentials);
    } catch (err) {
      setError(describeAuthError(err, action));
      setBusy(false);
    }
  }

  return (
    <main class="login">
      <form
        class="login-card"
        aria-labelledby="login-title"
        onSubmit={(e) => { e.preventDefault(); void go("login"); }}
      >
        <h1 id="login-title"><span class="logo" aria-hidden="true" />eschat</h1>
        <p class="hint">Log in, or pick a username and password to sign up.</p>
        {notice && <p class="notice" role="status">{notice}</p>}
        <label for="username">Username</label>
        <input
          id="username" data-testid="username" name="username" autocomplete="username"
          autocapitalize="none" spellcheck={false} required maxLength={64} autofocus
          value={username} onInput={(e) => setUsername(e.currentTarget.value)}
        />
        <label for="password">Password</label>
        <input
          id="password" data-testid="password" name="password" type="password"
          autocomplete="current-password" required minLength={8} maxLength={1024}
          aria-describedby="password-hint"
          value={password} onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <p id="password-hint" class="hint small">At least 8 characters.</p>
        {error && <p class="error" role="alert" data-testid="auth-error">{error}</p>}
        <div class="row">
          <button type="submit" class="primary" data-testid="login" disabled={busy}>Log in</button>
          <button
            type="button" data-testid="register" disabled={busy}
            onClick={(e) => {
              const form = e.currentTarget.form;
              if (form && !form.reportValidity()) return;
              void go("register");
            }}
          >
            Sign up
          </button>
        </div>
      </form>
    </main>
  );
}
