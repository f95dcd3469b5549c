/**
 * The chat of a group (and a personal conversation): every line a verified, signed message in
 * the group's verified chain, newest at the bottom, announced politely to screen readers as it
 * arrives; and a field to send one.
 */

import { useState } from "preact/hooks";

import { TEXT_MAX } from "../../../vault/content.js";
import { useApp, useTask } from "../../context.js";
import { Alert } from "../../ui.js";
import type { LiveGroup } from "./live.js";

export function ChatPanel({ live, label }: { live: LiveGroup; label: string }) {
  const app = useApp();
  const { m } = app;
  const send = useTask();
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const view = live.view;
  if (view === null) return null;

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const value = text.trim();
    if (value.length === 0 || new TextEncoder().encode(value).length > TEXT_MAX) {
      setError(m.t(value.length === 0 ? "chat.empty" : "chat.tooLong"));
      document.getElementById("chat-text")?.focus();
      return;
    }
    setError(null);
    const done = await send.run(() => app.vault.call({ type: "sendGroupMessage", message: { groupId: view.groupId, what: "chat", text: value } }));
    if (done !== undefined) {
      setText("");
      await live.reload();
      document.getElementById("chat-text")?.focus();
    }
  };

  return (
    <div>
      {view.chat.length === 0 ? <p class="utrecht-paragraph">{m.t("chat.none")}</p> : null}
      <ol class="kluis-chat" aria-label={label} aria-live="polite" data-testid="chat">
        {view.chat.map((line) => (
          <li key={line.hash} class={`kluis-chat__line${line.mine ? " kluis-chat__line--mine" : ""}`} data-hash={line.hash}>
            <p class="utrecht-paragraph kluis-meta">
              <strong>{line.mine ? m.t("chat.you") : line.sender}</strong> · <time dateTime={new Date(line.sentAt * 1000).toISOString()}>{`${m.date(line.sentAt)} ${m.time(line.sentAt)}`}</time>
            </p>
            <p class="utrecht-paragraph kluis-chat__text">{line.text}</p>
          </li>
        ))}
      </ol>
      {view.unreadable > 0 ? <p class="utrecht-paragraph kluis-meta">{m.t("chat.unreadable", { count: view.unreadable })}</p> : null}
      <form onSubmit={submit} class="kluis-form" noValidate>
        {send.error ? <Alert type="error">{send.error}</Alert> : null}
        <div class={`utrecht-form-field utrecht-form-field--text${error ? " utrecht-form-field--invalid" : ""}`}>
          <div class="utrecht-form-field__label">
            <label class="utrecht-form-label" for="chat-text">
              {m.t("chat.message")}
            </label>
          </div>
          {error ? (
            <div class="utrecht-form-field__error-message utrecht-form-field-error-message" id="chat-text-error">
              {error}
            </div>
          ) : null}
          <div class="utrecht-form-field__input">
            <textarea
              id="chat-text"
              class="utrecht-textarea utrecht-textarea--html-textarea"
              rows={3}
              value={text}
              aria-invalid={error ? "true" : undefined}
              aria-describedby={error ? "chat-text-error" : undefined}
              onInput={(e) => setText(e.currentTarget.value)}
            />
          </div>
        </div>
        <div class="utrecht-button-group">
          <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={send.busy}>
            {m.t("chat.send")}
          </button>
        </div>
      </form>
    </div>
  );
}
