/**
 * Organisations (docs/client.md section 13): the ones I am a member of, a new one, and one
 * organisation's page: its controlecode and whether it is verified, its members from the signed
 * roster, and for an administrator adding and removing members. Removing makes a new key for
 * the organisation (a new epoch) in the worker; the page only says so.
 */

import { useEffect, useState } from "preact/hooks";

import type { OrganisationSummary, OrganisationView } from "../../worker/protocol.js";
import { errorText, useApp, useTask } from "../context.js";
import { ClientError } from "../../worker/errors.js";
import { hrefOf, navigate } from "../router.js";
import { Alert, Button, Field, Heading1, ProgressNote } from "../ui.js";

const KINDS = ["municipality", "institution", "contractor", "engineering"] as const;
const KIND_BY_NUMBER: Record<number, (typeof KINDS)[number]> = { 1: "municipality", 2: "institution", 3: "contractor", 4: "engineering" };

function VerifiedNote({ org }: { org: OrganisationSummary }) {
  const { m } = useApp();
  const text = org.operatorVerified ? m.t("organisation.verifiedByOperator") : org.verified ? m.t("organisation.verifiedByYou") : m.t("organisation.notVerified");
  return <span class={org.verified ? "kluis-ok" : "kluis-warn"}>{text}</span>;
}

export function OrganisationsScreen() {
  const app = useApp();
  const { m } = app;
  const load = useTask();
  const create = useTask();
  const [orgs, setOrgs] = useState<OrganisationSummary[] | null>(null);
  const [name, setName] = useState("");
  const [kind, setKind] = useState<(typeof KINDS)[number]>("institution");
  const [nameError, setNameError] = useState<string | null>(null);

  useEffect(() => {
    void load.run(() => app.vault.call({ type: "organisations" })).then((r) => r && setOrgs(r.organisations));
  }, []);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) {
      setNameError(m.t("organisation.nameHint"));
      document.getElementById("org-name")?.focus();
      return;
    }
    setNameError(null);
    const r = await create.run(
      () => app.vault.call({ type: "createOrganisation", name, kind }),
      "",
      (e) => (e instanceof Error && "status" in e && (e as { status: number }).status === 409 ? m.t("organisation.nameTaken") : null),
    );
    if (r !== undefined) navigate({ name: "organisation", orgId: r.organisation.orgId });
  };

  return (
    <section aria-labelledby="orgs-title">
      <Heading1>
        <span id="orgs-title">{m.t("organisation.listTitle")}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("organisation.listIntro")}</p>
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy ? <ProgressNote progress={null} fallback={m.t("organisation.loading")} /> : null}
      {orgs !== null && orgs.length === 0 ? <p class="utrecht-paragraph">{m.t("organisation.none")}</p> : null}
      {orgs !== null && orgs.length > 0 ? (
        <ul class="kluis-cards" data-testid="organisation-list">
          {orgs.map((o) => (
            <li key={o.orgId} class="kluis-card">
              <h2 class="utrecht-heading-3">
                <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "organisation", orgId: o.orgId })}>
                  {o.name}
                </a>
              </h2>
              <p class="utrecht-paragraph kluis-meta">
                {m.t(`organisation.kind.${KIND_BY_NUMBER[o.kind] ?? "institution"}`)} · {m.t(o.myRole === "admin" ? "organisation.roleAdmin" : "organisation.roleMember")} · <VerifiedNote org={o} />
              </p>
              <p class="utrecht-paragraph">
                <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "inbox", orgId: o.orgId })}>
                  {m.t("inbox.open", { name: o.name })}
                </a>
              </p>
            </li>
          ))}
        </ul>
      ) : null}
      <h2 class="utrecht-heading-2">{m.t("organisation.new")}</h2>
      <form onSubmit={submit} class="kluis-form" noValidate>
        {create.error ? <Alert type="error">{create.error}</Alert> : null}
        <Field
          id="org-name"
          label={m.t("organisation.name")}
          description={m.t("organisation.nameHint")}
          error={nameError}
          input={{ type: "text", autocomplete: "off", maxLength: 64, value: name, onInput: (e) => setName(e.currentTarget.value) }}
        />
        <div class="utrecht-form-field">
          <div class="utrecht-form-field__label">
            <label class="utrecht-form-label" for="org-kind">
              {m.t("organisation.kindLabel")}
            </label>
          </div>
          <div class="utrecht-form-field__input">
            <select id="org-kind" class="utrecht-select utrecht-select--html-select" value={kind} onChange={(e) => setKind(e.currentTarget.value as (typeof KINDS)[number])}>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {m.t(`organisation.kind.${k}`)}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div class="utrecht-button-group">
          <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={create.busy}>
            {m.t("organisation.create")}
          </button>
        </div>
      </form>
    </section>
  );
}

export function OrganisationScreen({ orgId }: { orgId: string }) {
  const app = useApp();
  const { m } = app;
  const load = useTask();
  const change = useTask();
  const [org, setOrg] = useState<OrganisationView | null>(null);
  const [username, setUsername] = useState("");
  const [asAdmin, setAsAdmin] = useState(false);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    void load.run(() => app.vault.call({ type: "organisation", orgId })).then((r) => r && setOrg(r.organisation));
  }, [orgId]);

  const explain = (e: unknown): string | null => {
    if (e instanceof ClientError && e.message.includes("already a member")) return m.t("organisation.alreadyMember", { name: username });
    if (e instanceof Error && "status" in e && (e as { status: number }).status === 404) return m.t("organisation.noSuchUser", { name: username });
    return errorText(m, e);
  };

  const add = async (event: Event): Promise<void> => {
    event.preventDefault();
    setNotice(null);
    const r = await change.run(() => app.vault.call({ type: "addMember", orgId, username: username.trim(), admin: asAdmin }), "", explain);
    if (r !== undefined) {
      setOrg(r.organisation);
      setNotice(m.t("organisation.added", { name: username.trim() }));
      setUsername("");
    }
  };

  const remove = async (userId: string, name: string): Promise<void> => {
    setNotice(null);
    setConfirming(null);
    const r = await change.run(() => app.vault.call({ type: "removeMember", orgId, userId }));
    if (r !== undefined) {
      const again = await load.run(() => app.vault.call({ type: "organisation", orgId }));
      if (again !== undefined) setOrg(again.organisation);
      setNotice(m.t("organisation.removed", { name, count: r.rewrapped }));
    }
  };

  const admin = org?.myRole === "admin";
  return (
    <section aria-labelledby="org-title">
      <p class="utrecht-paragraph kluis-back">
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "organisations" })}>
          {m.t("organisation.back")}
        </a>
      </p>
      <Heading1>
        <span id="org-title">{org ? org.name : m.t("organisation.listTitle")}</span>
      </Heading1>
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy && org === null ? <ProgressNote progress={null} fallback={m.t("organisation.loading")} /> : null}
      {org ? (
        <>
          <p class="utrecht-paragraph kluis-meta">
            {m.t(`organisation.kind.${KIND_BY_NUMBER[org.kind] ?? "institution"}`)} · <VerifiedNote org={org} /> ·{" "}
            <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "inbox", orgId })}>
              {m.t("inbox.open", { name: org.name })}
            </a>
          </p>
          <h2 class="utrecht-heading-2">{m.t("organisation.code")}</h2>
          <p class="utrecht-paragraph">{m.t("organisation.codeIntro")}</p>
          <p class="utrecht-paragraph kluis-fingerprint" data-testid="org-fingerprint">
            {org.fingerprint}
          </p>
          {!org.verified ? <p class="utrecht-paragraph">{m.t("organisation.verifyHow")}</p> : null}
          <div aria-live="polite" class="kluis-live">
            {notice ? <Alert type="ok">{notice}</Alert> : null}
          </div>
          {change.error ? <Alert type="error">{change.error}</Alert> : null}
          <h2 class="utrecht-heading-2">{m.t("organisation.members")}</h2>
          <ul class="kluis-members" data-testid="members">
            {org.members.map((member) => (
              <li key={member.userId} data-member={member.username}>
                <span>
                  {member.username} ({m.t(member.role === "admin" ? "organisation.roleAdmin" : "organisation.roleMember")})
                </span>{" "}
                {admin && member.userId !== app.me?.userId ? (
                  confirming === member.userId ? (
                    <span class="utrecht-button-group">
                      <Button kind="primary" disabled={change.busy} onClick={() => void remove(member.userId, member.username)}>
                        {m.t("organisation.removeConfirm", { name: member.username })}
                      </Button>
                      <Button kind="secondary" onClick={() => setConfirming(null)}>
                        {m.t("organisation.removeCancel")}
                      </Button>
                    </span>
                  ) : (
                    <Button kind="secondary" aria-label={m.t("organisation.removeLabel", { name: member.username })} onClick={() => setConfirming(member.userId)}>
                      {m.t("organisation.remove")}
                    </Button>
                  )
                ) : null}
              </li>
            ))}
          </ul>
          {confirming !== null ? <p class="utrecht-paragraph">{m.t("organisation.removeExplain")}</p> : null}
          {admin ? (
            <>
              <h2 class="utrecht-heading-2">{m.t("organisation.addTitle")}</h2>
              <form onSubmit={add} class="kluis-form" noValidate>
                <Field
                  id="member-name"
                  label={m.t("organisation.memberName")}
                  input={{ type: "text", autocomplete: "off", maxLength: 64, value: username, onInput: (e) => setUsername(e.currentTarget.value) }}
                />
                <div class="utrecht-form-field utrecht-form-field--checkbox">
                  <input id="member-admin" type="checkbox" class="utrecht-checkbox utrecht-checkbox--html-input" checked={asAdmin} onChange={(e) => setAsAdmin(e.currentTarget.checked)} />{" "}
                  <label class="utrecht-form-label utrecht-form-label--checkbox" for="member-admin">
                    {m.t("organisation.memberAdmin")}
                  </label>
                </div>
                <div class="utrecht-button-group">
                  <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={change.busy || username.trim() === ""}>
                    {m.t("organisation.add")}
                  </button>
                </div>
              </form>
            </>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
