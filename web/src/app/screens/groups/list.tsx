/**
 * "Groepen" and "Berichten": the groups and the personal conversations this account is in, each
 * verified in the worker before it is listed, with the number of unread messages; a new group,
 * and a conversation with someone by username.
 */

import { useEffect, useState } from "preact/hooks";

import { ApiError } from "../../../worker/errors.js";
import type { GroupSummary } from "../../../worker/protocol.js";
import { useApp, useTask } from "../../context.js";
import { hrefOf, navigate } from "../../router.js";
import { Alert, Field, Heading1, ProgressNote } from "../../ui.js";

function useGroupList(): { groups: GroupSummary[] | null; load: ReturnType<typeof useTask> } {
  const app = useApp();
  const load = useTask();
  const [groups, setGroups] = useState<GroupSummary[] | null>(null);
  useEffect(() => {
    void load.run(() => app.vault.call({ type: "groups" })).then((r) => r && setGroups(r.groups));
  }, []);
  return { groups, load };
}

function Unread({ count }: { count: number }) {
  const { m } = useApp();
  if (count === 0) return null;
  return (
    <span class="utrecht-badge-status kluis-unread" data-testid="unread">
      {m.t(count === 1 ? "messages.unread.one" : "messages.unread.other", { count })}
    </span>
  );
}

/** A one-field form (a name) that runs `submit` and opens what it made. */
function NameForm({ id, label, hint, button, submit }: { id: string; label: string; hint: string; button: string; submit: (name: string) => Promise<string | undefined> }) {
  const { m } = useApp();
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const value = name.trim().toLowerCase();
    if (!/^[a-z0-9_-]{1,64}$/.test(value)) {
      setError(m.t("group.nameInvalid"));
      document.getElementById(id)?.focus();
      return;
    }
    setError(null);
    setBusy(true);
    try {
      await submit(value);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={onSubmit} class="kluis-form" noValidate>
      <Field id={id} label={label} description={hint} error={error} input={{ type: "text", autocomplete: "off", autocapitalize: "none", spellcheck: false, maxLength: 64, value: name, onInput: (e) => setName(e.currentTarget.value) }} />
      <div class="utrecht-button-group">
        <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={busy}>
          {button}
        </button>
      </div>
    </form>
  );
}

export function GroupsScreen() {
  const app = useApp();
  const { m } = app;
  const { groups, load } = useGroupList();
  const create = useTask();
  const mine = groups?.filter((g) => g.kind === "group") ?? null;
  return (
    <section aria-labelledby="groups-title">
      <Heading1>
        <span id="groups-title">{m.t("group.listTitle")}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("group.listIntro")}</p>
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy ? <ProgressNote progress={null} fallback={m.t("group.loading")} /> : null}
      {mine !== null && mine.length === 0 ? <p class="utrecht-paragraph">{m.t("group.none")}</p> : null}
      {mine !== null && mine.length > 0 ? (
        <ul class="kluis-cards" data-testid="group-list">
          {mine.map((g) => (
            <li key={g.groupId} class="kluis-card">
              <h2 class="utrecht-heading-3">
                <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "group", groupId: g.groupId, tab: "news" })}>
                  {g.name}
                </a>{" "}
                <Unread count={g.unread} />
              </h2>
              <p class="utrecht-paragraph kluis-meta">{m.t("group.kindGroup")}</p>
            </li>
          ))}
        </ul>
      ) : null}
      <h2 class="utrecht-heading-2">{m.t("group.new")}</h2>
      {create.error ? <Alert type="error">{create.error}</Alert> : null}
      <NameForm
        id="group-name"
        label={m.t("group.newName")}
        hint={m.t("group.newHint")}
        button={m.t("group.newSubmit")}
        submit={async (name) => {
          const r = await create.run(() => app.vault.call({ type: "createGroup", name }), "", (e) => (e instanceof ApiError && e.status === 409 ? m.t("group.nameTaken") : null));
          if (r !== undefined) navigate({ name: "group", groupId: r.groupId, tab: "news" });
          return r?.groupId;
        }}
      />
    </section>
  );
}

export function InboxScreen() {
  const app = useApp();
  const { m } = app;
  const { groups, load } = useGroupList();
  const start = useTask();
  const conversations = groups?.filter((g) => g.kind === "conversation") ?? null;
  return (
    <section aria-labelledby="inbox-title">
      <Heading1>
        <span id="inbox-title">{m.t("messages.title")}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("messages.intro")}</p>
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy ? <ProgressNote progress={null} fallback={m.t("messages.loading")} /> : null}
      {conversations !== null && conversations.length === 0 ? <p class="utrecht-paragraph">{m.t("messages.none")}</p> : null}
      {conversations !== null && conversations.length > 0 ? (
        <ul class="kluis-cards" data-testid="conversation-list">
          {conversations.map((g) => (
            <li key={g.groupId} class="kluis-card">
              <h2 class="utrecht-heading-3">
                <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "conversation", groupId: g.groupId })}>
                  {m.t("messages.with", { name: g.withUser ?? "?" })}
                </a>{" "}
                <Unread count={g.unread} />
              </h2>
            </li>
          ))}
        </ul>
      ) : null}
      <h2 class="utrecht-heading-2">{m.t("messages.new")}</h2>
      {start.error ? <Alert type="error">{start.error}</Alert> : null}
      <NameForm
        id="conversation-with"
        label={m.t("messages.newWith")}
        hint={m.t("messages.newHint")}
        button={m.t("messages.newSubmit")}
        submit={async (username) => {
          const r = await start.run(
            () => app.vault.call({ type: "startConversation", username }),
            "",
            (e) => (e instanceof ApiError && e.status === 404 ? m.t("group.userUnknown", { name: username }) : null),
          );
          if (r !== undefined) navigate({ name: "conversation", groupId: r.groupId });
          return r?.groupId;
        }}
      />
    </section>
  );
}
