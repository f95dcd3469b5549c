/**
 * "Dossier delen": share a dossier or one document with a person, see who has access and until
 * when, and revoke (with a new dossier key). The person's keys are checked first: a changed key
 * blocks sharing with an explanation that cannot be clicked away, only resolved by comparing
 * the controlecode (contacts.tsx).
 */

import { useEffect, useState } from "preact/hooks";

import { ApiError, ClientError } from "../../worker/errors.js";
import type { AccessRow, ContactInfo, DocumentSummary, DossierSummary, OrganisationInfo } from "../../worker/protocol.js";
import { useApp, useTask } from "../context.js";
import type { Messages } from "../i18n.js";
import { hrefOf } from "../router.js";
import { Alert, Button, Field, Heading1, ProgressNote } from "../ui.js";
import { CodeGroups } from "./contacts.js";

/** The words for a sharing failure that is the user's to fix (a ClientError), or null. */
export function shareErrorText(m: Messages, error: unknown): string | null {
  if (error instanceof ApiError) return error.status === 404 ? m.t("share.unknownUser") : null;
  if (!(error instanceof ClientError)) return null;
  if (error.message.includes("is not verified")) return m.t("share.orgConfirmNeeded");
  if (error.message.includes("yourself")) return m.t("share.self");
  if (error.message.includes("end date")) return m.t("share.untilPast");
  if (error.message.includes("no share of their own")) return m.t("share.nothingToRevoke");
  return null;
}

/** The last second of a chosen day (yyyy-mm-dd, the person's own time zone): "tot en met". */
export function endOfDay(date: string): number {
  const [y, mo, d] = date.split("-").map(Number);
  return Math.floor(new Date(y as number, (mo as number) - 1, d as number, 23, 59, 59).getTime() / 1000);
}

/** "tot en met 3 december 2026", "zonder einddatum", or "verlopen op ...". */
export function shareUntil(m: Messages, expiresAt: number, expired: boolean): string {
  if (expiresAt === 0) return m.t("share.noEnd");
  return expired ? m.t("share.expired", { date: m.fullDate(expiresAt) }) : m.t("share.untilDate", { date: m.fullDate(expiresAt) });
}

/** One line per share a recipient holds. */
export function accessText(m: Messages, row: AccessRow): string[] {
  const out: string[] = [];
  if (row.dossier !== null) {
    const what = row.dossier.rights === "write" ? m.t("share.wholeWrite") : m.t("share.wholeRead");
    out.push(`${what}, ${shareUntil(m, row.dossier.expiresAt, row.dossier.expired)}${row.dossier.currentKey ? "" : ` (${m.t("share.oldKey")})`}`);
  }
  for (const d of row.documents) out.push(`${m.t("share.documentRead", { name: d.name })}, ${shareUntil(m, d.expiresAt, d.expired)}`);
  return out;
}

function ChangedContact({ contact }: { contact: ContactInfo }) {
  const { m } = useApp();
  const name = contact.username;
  return (
    <div class="utrecht-alert utrecht-alert--error" role="alert" data-testid="contact-changed">
      <div class="utrecht-alert__content">
        <div class="utrecht-alert__message">
          <h2 class="utrecht-heading-3">{m.t("share.changedTitle", { name })}</h2>
          <p class="utrecht-paragraph">{m.t("share.changed", { name })}</p>
          <p class="utrecht-paragraph">{m.t("share.changedWhat", { name })}</p>
          {contact.pinnedFingerprint !== null ? (
            <>
              <p class="utrecht-paragraph">{m.t("share.pinnedCode")}</p>
              <CodeGroups code={contact.pinnedFingerprint} />
            </>
          ) : null}
          <p class="utrecht-paragraph">{m.t("share.newCode")}</p>
          <CodeGroups code={contact.fingerprint} />
          <p class="utrecht-paragraph">
            <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "contacts", username: name })}>
              {m.t("share.toContact")}
            </a>
          </p>
        </div>
      </div>
    </div>
  );
}

function OrganisationState({ org }: { org: OrganisationInfo }) {
  const { m } = useApp();
  if (org.verifiedBy === "operator") return <Alert type="ok">{m.t("share.orgByOperator", { name: org.name })}</Alert>;
  if (org.verifiedBy === "you") return <Alert type="ok">{m.t("share.orgByYou", { name: org.name })}</Alert>;
  return (
    <div class="utrecht-alert utrecht-alert--warning" role="status" data-testid="organisation-unverified">
      <div class="utrecht-alert__content">
        <div class="utrecht-alert__message">
          <h3 class="utrecht-heading-3">{m.t("share.orgUnverifiedTitle", { name: org.name })}</h3>
          <p class="utrecht-paragraph">{m.t("share.orgUnverified", { name: org.name })}</p>
        </div>
      </div>
    </div>
  );
}

/** The organisation's fingerprint compared with one on a letter, typed: then verified on this device. */
function VerifyOrganisation({ org, onVerified }: { org: OrganisationInfo; onVerified: (o: OrganisationInfo) => void }) {
  const app = useApp();
  const { m } = app;
  const verify = useTask();
  const [typed, setTyped] = useState("");
  const [typedError, setTypedError] = useState<string | null>(null);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (!/^[0-9]{60}$/.test(typed.replace(/\s+/g, ""))) {
      setTypedError(m.t("contacts.typeWrong"));
      globalThis.document.getElementById("org-code")?.focus();
      return;
    }
    setTypedError(null);
    const r = await verify.run(() => app.vault.call({ type: "verifyOrganisation", name: org.name, fingerprint: typed }));
    if (r) onVerified(r.organisation);
  };
  return (
    <form onSubmit={submit} class="kluis-form" noValidate>
      <h2 class="utrecht-heading-2">{m.t("share.orgVerifyTitle", { name: org.name })}</h2>
      {verify.error ? <Alert type="error">{verify.error}</Alert> : null}
      <Field
        id="org-code"
        label={m.t("share.orgVerifyCode", { name: org.name })}
        description={m.t("contacts.typeHint")}
        error={typedError}
        input={{ type: "text", inputMode: "numeric", autocomplete: "off", value: typed, onInput: (e) => setTyped(e.currentTarget.value) }}
      />
      <div class="utrecht-button-group">
        <button type="submit" class="utrecht-button utrecht-button--secondary-action" disabled={verify.busy}>
          {m.t("contacts.check")}
        </button>
      </div>
    </form>
  );
}

function AccessList({ dossierId, rows, onRevoked }: { dossierId: string; rows: AccessRow[]; onRevoked: (name: string, epoch: number) => void }) {
  const app = useApp();
  const { m } = app;
  const revoke = useTask();
  const [asking, setAsking] = useState<string | null>(null);
  if (rows.length === 0) return <p class="utrecht-paragraph">{m.t("share.accessNone")}</p>;
  return (
    <>
      {revoke.error ? <Alert type="error">{revoke.error}</Alert> : null}
      {revoke.busy ? <ProgressNote progress={null} fallback={m.t("share.revokeBusy")} /> : null}
      <ul class="kluis-cards" data-testid="access-list">
        {rows.map((row) => {
          const name = row.person ? row.name : m.t("share.organisation", { name: row.name });
          return (
            <li key={row.recipientId} class="kluis-card" data-testid="access-row">
              <h3 class="utrecht-heading-3">
                {row.person ? (
                  <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "contacts", username: row.name })}>
                    {name}
                  </a>
                ) : (
                  name
                )}
              </h3>
              {accessText(m, row).map((line) => (
                <p class="utrecht-paragraph kluis-meta" key={line}>
                  {line}
                </p>
              ))}
              {row.person && !row.verified ? <p class="utrecht-paragraph kluis-meta">{m.t("share.notVerified")}</p> : null}
              {asking === row.recipientId ? (
                <div role="group" aria-label={m.t("share.revokeLabel", { name })}>
                  <p class="utrecht-paragraph">{m.t("share.revokeConfirm", { name })}</p>
                  <div class="utrecht-button-group">
                    <Button
                      disabled={revoke.busy}
                      onClick={() =>
                        void revoke
                          .run(() => app.vault.call({ type: "revoke", dossierId, recipientId: row.recipientId, documentId: null }), "", (e) => shareErrorText(m, e))
                          .then((r) => {
                            setAsking(null);
                            if (r) onRevoked(name, r.epoch);
                          })
                      }
                    >
                      {m.t("share.revokeYes")}
                    </Button>
                    <Button kind="secondary" onClick={() => setAsking(null)}>
                      {m.t("share.revokeNo")}
                    </Button>
                  </div>
                </div>
              ) : (
                <div class="utrecht-button-group">
                  <Button kind="secondary" aria-label={m.t("share.revokeLabel", { name })} disabled={revoke.busy} onClick={() => setAsking(row.recipientId)}>
                    {m.t("share.revoke")}
                  </Button>
                </div>
              )}
            </li>
          );
        })}
      </ul>
    </>
  );
}

export function ShareScreen({ dossierId, documentId }: { dossierId: string; documentId: string | null }) {
  const app = useApp();
  const { m } = app;
  const load = useTask();
  const lookup = useTask();
  const share = useTask();
  const [dossier, setDossier] = useState<DossierSummary | null>(null);
  const [document, setDocument] = useState<DocumentSummary | null>(null);
  const [rows, setRows] = useState<AccessRow[] | null>(null);
  const [username, setUsername] = useState("");
  const [usernameError, setUsernameError] = useState<string | null>(null);
  const [contact, setContact] = useState<ContactInfo | null>(null);
  // Sharing with `@name`: the organisation as the worker verified it, and the person's
  // explicit "share anyway" when nobody verified it.
  const [org, setOrg] = useState<OrganisationInfo | null>(null);
  const [anyway, setAnyway] = useState(false);
  const [anywayError, setAnywayError] = useState<string | null>(null);
  const [write, setWrite] = useState(false);
  const [until, setUntil] = useState("");
  const [untilError, setUntilError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string[] | null>(null);

  const refresh = async (): Promise<void> => {
    const listed = await load.run(() => app.vault.call({ type: "documents", dossierId }));
    if (!listed) return;
    setDossier(listed.dossier);
    setDocument(listed.documents.find((d) => d.documentId === documentId) ?? null);
    const access = await load.run(() => app.vault.call({ type: "access", dossierId }));
    if (access) setRows(access.rows);
  };

  useEffect(() => {
    void refresh();
  }, [dossierId]);

  const next = async (event: Event): Promise<void> => {
    event.preventDefault();
    setNotice(null);
    const name = username.trim();
    if (name.length === 0) {
      setUsernameError(m.t("share.usernameEmpty"));
      globalThis.document.getElementById("share-username")?.focus();
      return;
    }
    setUsernameError(null);
    if (name.startsWith("@")) {
      const r = await lookup.run(() => app.vault.call({ type: "organisationByName", name: name.slice(1) }), "", (e) => shareErrorText(m, e));
      if (!r) return;
      const o = r.organisation;
      setOrg(o);
      setAnyway(false);
      setContact({ userId: o.orgId, username: `@${o.name}`, fingerprint: o.fingerprint, state: o.verifiedBy !== null ? "verified" : o.firstSeen ? "new" : "unverified", pinnedFingerprint: null });
      return;
    }
    const r = await lookup.run(() => app.vault.call({ type: "contact", username: name }), "", (e) => shareErrorText(m, e));
    if (r) {
      setOrg(null);
      setContact(r.contact);
    }
  };

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (contact === null) return;
    let expiresAt = 0;
    if (until !== "") {
      expiresAt = endOfDay(until);
      if (expiresAt <= Date.now() / 1000) {
        setUntilError(m.t("share.untilPast"));
        globalThis.document.getElementById("share-until")?.focus();
        return;
      }
    }
    setUntilError(null);
    const allowUnverified = org !== null && org.verifiedBy === null;
    if (allowUnverified && !anyway) {
      setAnywayError(m.t("share.orgConfirmNeeded"));
      globalThis.document.getElementById("share-anyway")?.focus();
      return;
    }
    setAnywayError(null);
    const r = await share.run(
      () => app.vault.call({ type: "share", dossierId, documentId, username: contact.username, write: documentId === null && write, expiresAt, allowUnverified }),
      "",
      (e) => shareErrorText(m, e),
    );
    if (!r) return;
    const lines = [m.t("share.done", { name: r.recipient })];
    if (!r.verified) lines.push(m.t("share.doneUnverified", { name: r.recipient }));
    if (r.unconfirmed.length > 0) lines.push(m.t("share.unconfirmed", { versions: r.unconfirmed.join(", ") }));
    setNotice(lines);
    setContact(null);
    setUsername("");
    setUntil("");
    setWrite(false);
    await refresh();
  };

  const title = documentId === null ? m.t("share.title") : m.t("share.titleDocument");
  return (
    <section aria-labelledby="share-title">
      <p class="utrecht-paragraph kluis-back">
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "dossier", dossierId })}>
          {m.t("share.back")}
        </a>
      </p>
      <Heading1>
        <span id="share-title">{title}</span>
      </Heading1>
      {dossier?.title ? <p class="utrecht-paragraph kluis-meta">{dossier.title}</p> : null}
      <p class="utrecht-paragraph">{documentId === null ? m.t("share.intro") : m.t("share.introDocument", { name: document?.name ?? "" })}</p>
      <div aria-live="polite" class="kluis-live">
        {notice ? (
          <Alert type="ok">
            {notice.map((line) => (
              <p class="utrecht-paragraph" key={line}>
                {line}
              </p>
            ))}
          </Alert>
        ) : null}
      </div>
      {contact === null ? (
        <form onSubmit={next} class="kluis-form" noValidate>
          {lookup.error ? <Alert type="error">{lookup.error}</Alert> : null}
          <Field
            id="share-username"
            label={m.t("share.username")}
            description={m.t("share.usernameHint")}
            error={usernameError}
            input={{ type: "text", autocomplete: "off", autocapitalize: "none", spellcheck: false, value: username, onInput: (e) => setUsername(e.currentTarget.value) }}
          />
          {lookup.busy ? <ProgressNote progress={null} fallback={m.t("share.checking", { name: username.trim() })} /> : null}
          <div class="utrecht-button-group">
            <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={lookup.busy}>
              {m.t("share.next")}
            </button>
          </div>
        </form>
      ) : contact.state === "changed" ? (
        <>
          <ChangedContact contact={contact} />
          <div class="utrecht-button-group">
            <Button kind="secondary" onClick={() => { setContact(null); setOrg(null); }}>
              {m.t("share.other")}
            </Button>
          </div>
        </>
      ) : (
        <>
          <form onSubmit={submit} class="kluis-form" noValidate data-testid="share-form">
            <h2 class="utrecht-heading-2">{m.t("share.recipient", { name: contact.username })}</h2>
            {org !== null ? (
              <OrganisationState org={org} />
            ) : (
              <Alert type={contact.state === "verified" ? "ok" : "warning"}>
                {contact.state === "verified"
                  ? m.t("share.stateVerified", { name: contact.username })
                  : contact.state === "new"
                    ? m.t("share.stateNew", { name: contact.username })
                    : m.t("share.stateUnverified", { name: contact.username })}
              </Alert>
            )}
            <p class="utrecht-paragraph">{m.t("contacts.code", { name: contact.username })}</p>
            <CodeGroups code={contact.fingerprint} />
            {org !== null && org.verifiedBy === null ? (
              <div class={`utrecht-form-field utrecht-form-field--checkbox${anywayError ? " utrecht-form-field--invalid" : ""}`}>
                {anywayError ? (
                  <div class="utrecht-form-field-error-message" id="share-anyway-error">
                    {anywayError}
                  </div>
                ) : null}
                <label class="kluis-radio" for="share-anyway">
                  <input
                    type="checkbox"
                    id="share-anyway"
                    checked={anyway}
                    aria-describedby={anywayError ? "share-anyway-error" : undefined}
                    aria-invalid={anywayError ? "true" : undefined}
                    onChange={(e) => setAnyway(e.currentTarget.checked)}
                  />{" "}
                  {m.t("share.orgAnyway", { name: org.name })}
                </label>
              </div>
            ) : null}
            {org === null && contact.state !== "verified" ? (
              <p class="utrecht-paragraph">
                <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "contacts", username: contact.username })}>
                  {m.t("share.toContact")}
                </a>
              </p>
            ) : null}
            {share.error ? <Alert type="error">{share.error}</Alert> : null}
            {documentId === null ? (
              <fieldset class="utrecht-form-fieldset kluis-fieldset">
                <legend class="utrecht-form-fieldset__legend">{m.t("share.rights")}</legend>
                <label class="kluis-radio">
                  <input type="radio" name="rights" value="read" checked={!write} onChange={() => setWrite(false)} /> {m.t("share.read")}
                </label>
                <label class="kluis-radio">
                  <input type="radio" name="rights" value="write" checked={write} onChange={() => setWrite(true)} /> {m.t("share.write")}
                </label>
              </fieldset>
            ) : null}
            <Field
              id="share-until"
              label={m.t("share.until")}
              description={m.t("share.untilHint")}
              error={untilError}
              input={{ type: "date", value: until, onInput: (e) => setUntil(e.currentTarget.value) }}
            />
            {share.busy ? <ProgressNote progress={null} fallback={m.t("share.busy")} /> : null}
            <div class="utrecht-button-group">
              <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={share.busy}>
                {m.t("share.submit")}
              </button>
              <Button kind="secondary" onClick={() => { setContact(null); setOrg(null); }} disabled={share.busy}>
                {m.t("share.other")}
              </Button>
            </div>
          </form>
          {org !== null && org.verifiedBy === null ? <VerifyOrganisation org={org} onVerified={setOrg} /> : null}
        </>
      )}
      <h2 class="utrecht-heading-2">{m.t("share.access")}</h2>
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy && rows === null ? <ProgressNote progress={null} fallback={m.t("share.accessLoading")} /> : null}
      {rows !== null ? (
        <>
          <p class="utrecht-paragraph kluis-meta">{m.t("share.accessVerified")}</p>
          <AccessList
            dossierId={dossierId}
            rows={rows}
            onRevoked={(name, epoch) => {
              setNotice(epoch > 0 ? [m.t("share.revoked", { name }), m.t("share.newKey")] : [m.t("share.revoked", { name })]);
              void refresh();
            }}
          />
        </>
      ) : null}
    </section>
  );
}
