/**
 * The organisation's case inbox ("Binnengekomen dossiers", docs/client.md 13.6) for its staff,
 * searchable and filterable by what the worker decrypted (title, resident, date, new since the
 * last visit), and one case: its documents, each downloadable. Listing a case signs the
 * organisation's receipt in the worker (14.1), as `kluis ls` does; the page says so.
 */

import { useEffect, useMemo, useState } from "preact/hooks";

import type { DocumentSummary, DossierSummary, InboxCase, OrganisationSummary } from "../../worker/protocol.js";
import { useApp, useTask } from "../context.js";
import { hrefOf } from "../router.js";
import { Alert, Button, Field, Heading1, ProgressNote } from "../ui.js";
import { saveBlob, saveDocument, savePicker } from "./dossier.js";

type Period = "all" | "new" | "week" | "month";

const DAY = 24 * 60 * 60;

export function InboxScreen({ orgId }: { orgId: string }) {
  const app = useApp();
  const { m } = app;
  const load = useTask();
  const [org, setOrg] = useState<OrganisationSummary | null>(null);
  const [cases, setCases] = useState<InboxCase[] | null>(null);
  const [query, setQuery] = useState("");
  const [period, setPeriod] = useState<Period>("all");

  useEffect(() => {
    void load.run(() => app.vault.call({ type: "inbox", orgId })).then((r) => {
      if (r !== undefined) {
        setOrg(r.organisation);
        setCases(r.cases);
      }
    });
  }, [orgId]);

  const shown = useMemo(() => {
    if (cases === null) return [];
    const words = query.toLocaleLowerCase(m.lang).split(/\s+/).filter(Boolean);
    const now = Date.now() / 1000;
    return cases.filter((c) => {
      if (period === "new" && !c.isNew) return false;
      if (period === "week" && c.sharedAt < now - 7 * DAY) return false;
      if (period === "month" && c.sharedAt < now - 31 * DAY) return false;
      const text = `${c.title ?? ""} ${c.owner} ${m.fullDate(c.sharedAt)}`.toLocaleLowerCase(m.lang);
      return words.every((w) => text.includes(w));
    });
  }, [cases, query, period, m]);

  return (
    <section aria-labelledby="inbox-title">
      <p class="utrecht-paragraph kluis-back">
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "organisation", orgId })}>
          {m.t("inbox.back", { name: org?.name ?? "" })}
        </a>
      </p>
      <Heading1>
        <span id="inbox-title">{org ? m.t("inbox.title", { name: org.name }) : m.t("inbox.titlePlain")}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("inbox.intro")}</p>
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy ? <ProgressNote progress={null} fallback={m.t("inbox.loading")} /> : null}
      {cases !== null ? (
        <>
          <form class="kluis-form kluis-filters" role="search" aria-label={m.t("inbox.searchLabel")} onSubmit={(e) => e.preventDefault()}>
            <Field
              id="inbox-search"
              label={m.t("inbox.search")}
              description={m.t("inbox.searchHint")}
              input={{ type: "search", autocomplete: "off", value: query, onInput: (e) => setQuery(e.currentTarget.value) }}
            />
            <div class="utrecht-form-field">
              <div class="utrecht-form-field__label">
                <label class="utrecht-form-label" for="inbox-period">
                  {m.t("inbox.period")}
                </label>
              </div>
              <div class="utrecht-form-field__input">
                <select id="inbox-period" class="utrecht-select utrecht-select--html-select" value={period} onChange={(e) => setPeriod(e.currentTarget.value as Period)}>
                  {(["all", "new", "week", "month"] as const).map((p) => (
                    <option key={p} value={p}>
                      {m.t(`inbox.period.${p}`)}
                    </option>
                  ))}
                </select>
              </div>
            </div>
          </form>
          <p class="utrecht-paragraph" role="status" data-testid="inbox-count">
            {m.t("inbox.count", { shown: shown.length, total: cases.length })}
          </p>
          <ul class="kluis-cards" data-testid="inbox">
            {shown.map((c) => (
              <li key={c.dossierId} class="kluis-card" data-case={c.title ?? c.dossierId}>
                {c.failure !== null ? (
                  <>
                    <h2 class="utrecht-heading-3">{m.t("inbox.failedTitle")}</h2>
                    <Alert type="warning">{m.t("inbox.failed")}</Alert>
                  </>
                ) : (
                  <>
                    <h2 class="utrecht-heading-3">
                      <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "case", orgId, dossierId: c.dossierId })}>
                        {c.title ?? m.t("dossiers.sharedDocuments", { name: c.owner })}
                      </a>
                      {c.isNew ? <span class="kluis-badge"> {m.t("inbox.new")}</span> : null}
                    </h2>
                    <p class="utrecht-paragraph kluis-meta">
                      {m.t("inbox.from", { name: c.owner })} · {m.t("inbox.sharedOn", { date: m.fullDate(c.sharedAt) })} ·{" "}
                      {m.t(c.rights === "write" ? "inbox.rightsWrite" : "inbox.rightsRead")}
                      {c.expires > 0 ? ` · ${m.t("inbox.until", { date: m.fullDate(c.expires) })}` : ""}
                    </p>
                  </>
                )}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

export function CaseScreen({ orgId, dossierId }: { orgId: string; dossierId: string }) {
  const app = useApp();
  const { m } = app;
  const load = useTask();
  const action = useTask();
  const [dossier, setDossier] = useState<DossierSummary | null>(null);
  const [documents, setDocuments] = useState<DocumentSummary[] | null>(null);
  const [acknowledged, setAcknowledged] = useState<string[]>([]);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    void load.run(() => app.vault.call({ type: "documents", dossierId })).then((r) => {
      if (r !== undefined) {
        setDossier(r.dossier);
        setDocuments(r.documents);
        setAcknowledged(r.acknowledgedBy);
      }
    });
  }, [dossierId]);

  const download = async (d: DocumentSummary): Promise<void> => {
    setNotice(null);
    const saved = await saveDocument(app.vault, action, d.documentId, null, d.name);
    if (saved !== null) setNotice(m.t("dossier.downloaded", { name: saved }));
  };

  /** The whole case as one zip, streamed into the chosen file where the browser can. */
  const downloadAll = async (): Promise<void> => {
    setNotice(null);
    const name = `${(dossier?.title ?? "dossier").replace(/[\\/:*?"<>|\u0000-\u001f]/g, "_")}.zip`;
    const picker = savePicker();
    if (picker !== null) {
      let target;
      try {
        target = await picker({ suggestedName: name });
      } catch {
        return; // the person closed the dialog
      }
      const r = await action.run((progress) => app.vault.call({ type: "dossierZip", dossierId, target }, [], progress), name);
      if (r !== undefined) setNotice(m.t("inbox.zipSaved", { name, count: r.files }));
      return;
    }
    const r = await action.run((progress) => app.vault.call({ type: "dossierZip", dossierId }, [], progress), name);
    if (r !== undefined && r.content !== null) {
      saveBlob(r.content, name);
      setNotice(m.t("inbox.zipSaved", { name, count: r.files }));
    }
  };

  return (
    <section aria-labelledby="case-title">
      <p class="utrecht-paragraph kluis-back">
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "inbox", orgId })}>
          {m.t("inbox.backToInbox")}
        </a>
      </p>
      <Heading1>
        <span id="case-title">{dossier ? (dossier.title ?? m.t("dossiers.sharedDocuments", { name: dossier.owner })) : m.t("dossier.documents")}</span>
      </Heading1>
      {dossier ? <p class="utrecht-paragraph kluis-meta">{m.t("inbox.from", { name: dossier.owner })}</p> : null}
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy ? <ProgressNote progress={null} fallback={m.t("dossier.loading")} /> : null}
      <div aria-live="polite" class="kluis-live">
        {acknowledged.length > 0 ? <Alert type="info">{m.t("inbox.receiptSent", { name: acknowledged.join(", ") })}</Alert> : null}
        {notice ? <Alert type="ok">{notice}</Alert> : null}
      </div>
      {action.error ? <Alert type="error">{action.error}</Alert> : null}
      {action.busy ? <ProgressNote progress={action.progress} fallback={m.t("dossier.loading")} /> : null}
      {documents !== null && documents.length === 0 ? <p class="utrecht-paragraph">{m.t("dossier.none")}</p> : null}
      {documents !== null && documents.length > 0 ? (
        <div class="utrecht-button-group">
          <Button kind="primary" disabled={action.busy} onClick={() => void downloadAll()}>
            {m.t("inbox.zip")}
          </Button>
        </div>
      ) : null}
      {documents !== null && documents.length > 0 ? (
        <ul class="kluis-cards" data-testid="case-documents">
          {documents.map((d) => (
            <li key={d.documentId} class="kluis-card" data-document={d.name}>
              <h2 class="utrecht-heading-3">{d.name}</h2>
              <p class="utrecht-paragraph kluis-meta">
                {m.t("dossier.version", { version: d.version })} · {m.size(d.size)} · {m.fullDate(d.created)} · {d.confirmed ? m.t("dossier.checked") : m.t("dossier.unconfirmed")}
              </p>
              <Button kind="secondary" aria-label={m.t("dossier.downloadLabel", { name: d.name })} disabled={action.busy} onClick={() => void download(d)}>
                {m.t("dossier.download")}
              </Button>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
