/**
 * "Nieuws": a group's posts, newest first, each the latest verified revision of a signed post;
 * the body is Markdown rendered by ../../markdown.ts as text only (no HTML, no remote images).
 * Editors and administrators write posts, for members only or public.
 */

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

import { MARKDOWN_MAX, TITLE_MAX } from "../../../vault/content.js";
import { useApp, useTask } from "../../context.js";
import { parseMarkdown, type Inline } from "../../markdown.js";
import { Alert, Field } from "../../ui.js";
import type { LiveGroup } from "./live.js";

function Runs({ runs }: { runs: Inline[] }) {
  return (
    <>
      {runs.map((r, i) =>
        r.type === "strong" ? <strong key={i}>{r.text}</strong> : r.type === "em" ? <em key={i}>{r.text}</em> : r.type === "code" ? <code key={i} class="utrecht-code">{r.text}</code> : r.text,
      )}
    </>
  );
}

export function Markdown({ source }: { source: string }) {
  return (
    <div class="kluis-markdown">
      {parseMarkdown(source).map((b, i): ComponentChildren => {
        if (b.type === "heading") {
          const H = b.level === 3 ? "h3" : "h4";
          return (
            <H key={i} class={`utrecht-heading-${b.level}`}>
              <Runs runs={b.content} />
            </H>
          );
        }
        if (b.type === "list") {
          const L = b.ordered ? "ol" : "ul";
          return (
            <L key={i} class={`utrecht-${b.ordered ? "ordered" : "unordered"}-list`}>
              {b.items.map((item, j) => (
                <li key={j} class="utrecht-ordered-list__item">
                  <Runs runs={item} />
                </li>
              ))}
            </L>
          );
        }
        return (
          <p key={i} class="utrecht-paragraph">
            <Runs runs={b.content} />
          </p>
        );
      })}
    </div>
  );
}

export function NewsPanel({ live }: { live: LiveGroup }) {
  const app = useApp();
  const { m } = app;
  const write = useTask();
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const [isPublic, setPublic] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const view = live.view;
  if (view === null) return null;
  const writer = view.myRole === "admin" || view.myRole === "editor";

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const t = title.trim();
    if (t.length === 0 || new TextEncoder().encode(t).length > TITLE_MAX) {
      setError(m.t("news.titleInvalid"));
      document.getElementById("post-title")?.focus();
      return;
    }
    if (new TextEncoder().encode(body).length > MARKDOWN_MAX) {
      setError(m.t("news.bodyTooLong"));
      return;
    }
    setError(null);
    const done = await write.run(() => app.vault.call({ type: "sendGroupMessage", message: { groupId: view.groupId, what: "post", title: t, markdown: body, public: isPublic } }));
    if (done !== undefined) {
      setTitle("");
      setBody("");
      setPublic(false);
      await live.reload();
    }
  };

  return (
    <div>
      {view.posts.length === 0 ? <p class="utrecht-paragraph">{m.t("news.none")}</p> : null}
      <ul class="kluis-cards" data-testid="posts">
        {view.posts.map((p) => (
          <li key={p.first} class="kluis-card kluis-post">
            <article aria-labelledby={`post-${p.first}`}>
              <h2 class="utrecht-heading-2 kluis-post__title" id={`post-${p.first}`}>
                {p.deleted ? m.t("news.deleted") : p.title}
              </h2>
              <p class="utrecht-paragraph kluis-meta">
                {m.t("news.byline", { name: p.mine ? m.t("chat.you") : p.sender, date: m.date(p.sentAt) })}
                {p.public ? ` · ${m.t("news.public")}` : ` · ${m.t("news.membersOnly")}`}
                {p.edited ? ` · ${m.t("news.edited")}` : ""}
              </p>
              {p.deleted ? null : <Markdown source={p.markdown} />}
            </article>
          </li>
        ))}
      </ul>
      {writer ? (
        <>
          <h2 class="utrecht-heading-2">{m.t("news.new")}</h2>
          <form onSubmit={submit} class="kluis-form" noValidate>
            {write.error ? <Alert type="error">{write.error}</Alert> : null}
            <Field id="post-title" label={m.t("news.title")} error={error} input={{ type: "text", maxLength: TITLE_MAX, value: title, onInput: (e) => setTitle(e.currentTarget.value) }} />
            <div class="utrecht-form-field utrecht-form-field--text">
              <div class="utrecht-form-field__label">
                <label class="utrecht-form-label" for="post-body">
                  {m.t("news.body")}
                </label>
              </div>
              <div class="utrecht-form-field__description utrecht-form-field-description" id="post-body-hint">
                {m.t("news.bodyHint")}
              </div>
              <div class="utrecht-form-field__input">
                <textarea id="post-body" class="utrecht-textarea utrecht-textarea--html-textarea" rows={6} aria-describedby="post-body-hint" value={body} onInput={(e) => setBody(e.currentTarget.value)} />
              </div>
            </div>
            <div class="utrecht-form-field utrecht-form-field--checkbox">
              <input id="post-public" type="checkbox" class="utrecht-checkbox utrecht-checkbox--html-input" checked={isPublic} onChange={(e) => setPublic(e.currentTarget.checked)} />{" "}
              <label class="utrecht-form-label utrecht-form-label--checkbox" for="post-public">
                {m.t("news.makePublic")}
              </label>
            </div>
            <div class="utrecht-button-group">
              <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={write.busy}>
                {m.t("news.publish")}
              </button>
            </div>
          </form>
        </>
      ) : null}
    </div>
  );
}
