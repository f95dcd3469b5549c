/**
 * "Meldingen per e-mail": opt in with an address and the topics, change them, or opt out. The
 * screen says, where the address is asked for, that the server keeps it until the person opts
 * out (docs/threat-model.md "E-mail notifications") and that a mail names nothing. The worker
 * does the calls (worker/notify.ts).
 */

import { useEffect, useState } from "preact/hooks";

import { ApiError } from "../../worker/errors.js";
import type { NotifyChoice, NotifyTopic } from "../../worker/protocol.js";
import { useApp, useTask } from "../context.js";
import { Alert, Field, Heading1, ProgressNote } from "../ui.js";

const TOPICS: readonly NotifyTopic[] = ["shares", "receipts", "messages", "group_posts"];

export function NotifyScreen() {
  const app = useApp();
  const { m } = app;
  const load = useTask();
  const save = useTask();
  const [choice, setChoice] = useState<NotifyChoice | null>(null);
  const [email, setEmail] = useState("");
  const [topics, setTopics] = useState<NotifyTopic[]>([...TOPICS]);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const show = (c: NotifyChoice): void => {
    setChoice(c);
    setEmail(c.email ?? "");
    if (c.email !== null) setTopics(c.topics);
  };

  useEffect(() => {
    void load.run(() => app.vault.call({ type: "notifyStatus" })).then((r) => r && show(r.choice));
  }, []);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setDone(null);
    // A light check for typing mistakes; the server decides what an address is.
    if (!/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(email.trim())) {
      setProblem(m.t("notify.emailInvalid"));
      document.getElementById("notify-email")?.focus();
      return;
    }
    if (topics.length === 0) {
      setProblem(m.t("notify.topicsEmpty"));
      document.getElementById("notify-topic-shares")?.focus();
      return;
    }
    setProblem(null);
    const r = await save.run(
      () => app.vault.call({ type: "notifyOn", email: email.trim(), topics }),
      "",
      (error) => (error instanceof ApiError && error.status === 422 ? m.t("notify.emailInvalid") : null),
    );
    if (r !== undefined) {
      show(r.choice);
      setDone(m.t("notify.saved", { email: r.choice.email ?? "" }));
    }
  };

  const stop = async (): Promise<void> => {
    setDone(null);
    const r = await save.run(() => app.vault.call({ type: "notifyOff" }));
    if (r !== undefined && choice !== null) {
      show({ offered: choice.offered, email: null, topics: [] });
      setEmail("");
      setTopics([...TOPICS]);
      setDone(m.t("notify.stopped"));
    }
  };

  const toggle = (topic: NotifyTopic, on: boolean): void => setTopics((now) => (on ? [...now.filter((t) => t !== topic), topic] : now.filter((t) => t !== topic)));

  return (
    <section aria-labelledby="notify-title">
      <Heading1>
        <span id="notify-title">{m.t("notify.title")}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("notify.intro")}</p>
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy ? <ProgressNote progress={null} fallback={m.t("notify.loading")} /> : null}
      {done ? <Alert type="ok">{done}</Alert> : null}
      {choice !== null && !choice.offered ? <Alert type="info">{m.t("notify.notOffered")}</Alert> : null}
      {choice !== null && choice.offered ? (
        <>
          <p class="utrecht-paragraph" data-testid="notify-state">
            {choice.email === null ? m.t("notify.off") : m.t("notify.on", { email: choice.email })}
          </p>
          <form onSubmit={submit} class="kluis-form" noValidate>
            {save.error ? <Alert type="error">{save.error}</Alert> : null}
            <Field
              id="notify-email"
              label={m.t("notify.email")}
              description={m.t("notify.emailHint")}
              error={problem}
              input={{ type: "email", autocomplete: "email", inputMode: "email", maxLength: 254, required: true, value: email, onInput: (e) => setEmail(e.currentTarget.value) }}
            />
            <fieldset class="utrecht-form-fieldset kluis-topics">
              <legend class="utrecht-form-fieldset__legend">{m.t("notify.topics")}</legend>
              {TOPICS.map((topic) => (
                <div key={topic} class="utrecht-form-field utrecht-form-field--checkbox">
                  <input
                    id={`notify-topic-${topic}`}
                    class="utrecht-checkbox utrecht-checkbox--html-input"
                    type="checkbox"
                    checked={topics.includes(topic)}
                    onChange={(e) => toggle(topic, e.currentTarget.checked)}
                  />{" "}
                  <label class="utrecht-form-label utrecht-form-label--checkbox" for={`notify-topic-${topic}`}>
                    {m.t(`notify.topic.${topic}`)}
                  </label>
                </div>
              ))}
            </fieldset>
            <p class="utrecht-paragraph">{m.t("notify.privacy")}</p>
            <div class="utrecht-button-group">
              <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={save.busy}>
                {choice.email === null ? m.t("notify.submitOn") : m.t("notify.submitChange")}
              </button>
              {choice.email !== null ? (
                <button type="button" class="utrecht-button utrecht-button--secondary-action" disabled={save.busy} onClick={() => void stop()}>
                  {m.t("notify.submitOff")}
                </button>
              ) : null}
            </div>
          </form>
        </>
      ) : null}
    </section>
  );
}
