import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/** A side panel beside the timeline (a full screen on a phone): it takes the
 * focus when it opens, and Escape or Close puts it away. */
export function Panel({ id, title, onClose, children }: {
  id: string;
  title: string;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const closeRef = useRef<HTMLButtonElement>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    closeRef.current?.focus();
    const onKey = (e: KeyboardEvent) => { if (e.key === "Escape") onCloseRef.current(); };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);

  return (
    <aside class="members side-panel" id={id} aria-label={title}>
      <header class="panel-head">
        <h3>{title}</h3>
        <button type="button" class="link" ref={closeRef} onClick={onClose}>Close</button>
      </header>
      {children}
    </aside>
  );
}
