/**
 * "Agenda": a group's events (each a verified, signed message, encrypted for members), who said
 * ja, nee or misschien (each member's latest reply counts), a reply of one's own, and the event
 * as a calendar file (.ics, made in the worker from the verified event: vault/ics.ts).
 */

import { useState } from "preact/hooks";

import { LOCATION_MAX, TITLE_MAX } from "../../../vault/content.js";
import type { EventInfo } from "../../../worker/protocol.js";
import { useApp, useTask } from "../../context.js";
import { Alert, Button, Field } from "../../ui.js";
import { saveBlob } from "../dossier.js";
import type { LiveGroup } from "./live.js";

const ANSWERS = [
  [1, "agenda.yes"],
  [2, "agenda.no"],
  [3, "agenda.maybe"],
] as const;

/** A datetime-local value ("2026-12-12T19:30", local time) as Unix seconds; null if empty or invalid. */
function seconds(value: string): number | null {
  const at = new Date(value).getTime();
  return value === "" || Number.isNaN(at) ? null : Math.floor(at / 1000);
}

function fileName(title: string): string {
  const safe = title.replace(/[^\p{L}\p{N} _-]+/gu, "").trim().slice(0, 60);
  return `${safe || "afspraak"}.ics`;
}

function EventCard({ event, live }: { event: EventInfo; live: LiveGroup }) {
  const app = useApp();
  const { m } = app;
  const reply = useTask();
  const groupId = live.view?.groupId ?? "";
  const answer = async (value: 1 | 2 | 3): Promise<void> => {
    const done = await reply.run(() => app.vault.call({ type: "sendGroupMessage", message: { groupId, what: "reply", eventHash: event.hash, answer: value } }));
    if (done !== undefined) await live.reload();
  };
  const when = `${m.fullDate(event.startsAt)}, ${m.time(event.startsAt)}–${m.time(event.endsAt)}`;
  return (
    <li class="kluis-card" data-event={event.hash}>
      <article aria-labelledby={`event-${event.hash}`}>
        <h2 class="utrecht-heading-3" id={`event-${event.hash}`}>
          {event.title}
        </h2>
        <p class="utrecht-paragraph">
          <time dateTime={new Date(event.startsAt * 1000).toISOString()}>{when}</time>
          {event.location ? ` · ${event.location}` : ""}
        </p>
        {event.description ? <p class="utrecht-paragraph kluis-pre">{event.description}</p> : null}
        <p class="utrecht-paragraph kluis-meta" data-testid="replies">
          {m.t("agenda.counts", { yes: event.replies.yes.length, no: event.replies.no.length, maybe: event.replies.maybe.length })}
          {event.replies.yes.length > 0 ? ` · ${m.t("agenda.coming", { names: event.replies.yes.join(", ") })}` : ""}
        </p>
        {reply.error ? <Alert type="error">{reply.error}</Alert> : null}
        <div class="kluis-actions" role="group" aria-label={m.t("agenda.yourAnswer", { title: event.title })}>
          {ANSWERS.map(([value, key]) => (
            <Button key={value} kind={event.myAnswer === value ? "primary" : "secondary"} aria-pressed={event.myAnswer === value} disabled={reply.busy} onClick={() => void answer(value)}>
              {m.t(key)}
            </Button>
          ))}
          <Button kind="subtle" aria-label={m.t("agenda.icsLabel", { title: event.title })} onClick={() => saveBlob(new Blob([event.ics], { type: "text/calendar" }), fileName(event.title))}>
            {m.t("agenda.ics")}
          </Button>
        </div>
      </article>
    </li>
  );
}

export function AgendaPanel({ live }: { live: LiveGroup }) {
  const app = useApp();
  const { m } = app;
  const add = useTask();
  const [title, setTitle] = useState("");
  const [starts, setStarts] = useState("");
  const [ends, setEnds] = useState("");
  const [location, setLocation] = useState("");
  const [error, setError] = useState<string | null>(null);
  const view = live.view;
  if (view === null) return null;
  const writer = view.myRole === "admin" || view.myRole === "editor";

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const t = title.trim();
    const s = seconds(starts);
    const e = ends === "" ? s : seconds(ends);
    if (t.length === 0 || t.length > TITLE_MAX) {
      setError(m.t("agenda.titleInvalid"));
      document.getElementById("event-title")?.focus();
      return;
    }
    if (s === null || e === null || e < s || s < 0) {
      setError(m.t("agenda.timeInvalid"));
      document.getElementById("event-starts")?.focus();
      return;
    }
    setError(null);
    const done = await add.run(() =>
      app.vault.call({ type: "sendGroupMessage", message: { groupId: view.groupId, what: "event", title: t, startsAt: s, endsAt: e, location: location.trim(), description: "" } }),
    );
    if (done !== undefined) {
      setTitle("");
      setStarts("");
      setEnds("");
      setLocation("");
      await live.reload();
    }
  };

  return (
    <div>
      {view.events.length === 0 ? <p class="utrecht-paragraph">{m.t("agenda.none")}</p> : null}
      <ul class="kluis-cards" data-testid="events">
        {view.events.map((e) => (
          <EventCard key={e.hash} event={e} live={live} />
        ))}
      </ul>
      {writer ? (
        <>
          <h2 class="utrecht-heading-2">{m.t("agenda.new")}</h2>
          <form onSubmit={submit} class="kluis-form" noValidate>
            {add.error ? <Alert type="error">{add.error}</Alert> : null}
            {error ? <Alert type="error">{error}</Alert> : null}
            <Field id="event-title" label={m.t("agenda.title")} input={{ type: "text", maxLength: TITLE_MAX, value: title, onInput: (e) => setTitle(e.currentTarget.value) }} />
            <Field id="event-starts" label={m.t("agenda.starts")} input={{ type: "datetime-local", value: starts, onInput: (e) => setStarts(e.currentTarget.value) }} />
            <Field id="event-ends" label={m.t("agenda.ends")} description={m.t("agenda.endsHint")} input={{ type: "datetime-local", value: ends, onInput: (e) => setEnds(e.currentTarget.value) }} />
            <Field id="event-location" label={m.t("agenda.location")} input={{ type: "text", maxLength: LOCATION_MAX, value: location, onInput: (e) => setLocation(e.currentTarget.value) }} />
            <div class="utrecht-button-group">
              <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={add.busy}>
                {m.t("agenda.add")}
              </button>
            </div>
          </form>
        </>
      ) : null}
    </div>
  );
}
