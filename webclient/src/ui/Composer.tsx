import type { RefObject } from "preact";
import { useState } from "preact/hooks";
import { type ChatClient, MAX_CONTENT } from "../client";

/** Enter sends, Shift+Enter starts a new line. Sending works offline too: the
 * message waits, shown as sending, until the connection is back. */
export function Composer({ client, chatId, inputRef }: {
  client: ChatClient;
  chatId: string;
  inputRef: RefObject<HTMLTextAreaElement | null>;
}) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);

  function send() {
    const problem = client.send(chatId, text);
    setError(problem);
    if (problem === null && text.trim()) setText("");
  }

  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); send(); }}>
      <label for="composer" class="visually-hidden">Message</label>
      <textarea
        id="composer" data-testid="composer" ref={inputRef} rows={1}
        placeholder="Write a message" maxLength={MAX_CONTENT} aria-describedby="composer-error"
        value={text}
        onInput={(e) => {
          setText(e.currentTarget.value);
          if (e.currentTarget.value.trim()) client.typed(chatId);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
        onBlur={() => client.stopTyping()}
      />
      <button type="submit" class="primary send" disabled={!text.trim()}>Send</button>
      {error && <p id="composer-error" class="error" role="alert">{error}</p>}
    </form>
  );
}
