/** The access log ("Wie heeft wat geopend") and a document's versions. */

import { useEffect, useState } from "preact/hooks";

import type { DossierSummary, LogLine, VersionSummary } from "../../worker/protocol.js";
import { useApp, useTask } from "../context.js";
import type { Messages } from "../i18n.js";
import { hrefOf } from "../router.js";
import { Alert, Button, Heading1, ProgressNote } from "../ui.js";
import { saveDocument } from "./dossier.js";

/** One log entry as a sentence: "Wierda opende schaderapport.pdf op 3 december om 14:02". */
export function logSentence(m: Messages, line: LogLine): string {
  const who = line.actorIsMe ? m.t("log.you") : line.actor;
  const doc = line.documentName ?? m.t("log.aDocument");
  const when = { date: m.date(line.at), time: m.time(line.at) };
  const subject = line.subject ?? m.t("log.someone");
  switch (line.action) {
    case "upload":
      return line.version !== null && line.version > 1
        ? m.t("log.uploadVersion", { who, doc, version: line.version, ...when })
        : m.t("log.upload", { who, doc, ...when });
    case "download":
      return m.t("log.download", { who, doc, ...when });
    case "share":
      return line.documentId ? m.t("log.shareDocument", { who, doc, subject, ...when }) : m.t("log.share", { who, subject, ...when });
    case "revoke":
      return m.t("log.revoke", { who, subject, ...when });
    default:
      return m.t("log.other", { who, action: line.action, ...when });
  }
}

export function LogScreen({ dossierId }: { dossierId: string }) {
  const app = useApp();
  const { m } = app;
  const load = useTask();
  const [dossier, setDossier] = useState<DossierSummary | null>(null);
  const [lines, setLines] = useState<LogLine[] | null>(null);

  useEffect(() => {
    void load.run(() => app.vault.call({ type: "accessLog", dossierId })).then((r) => {
      if (r) {
        setDossier(r.dossier);
        setLines(r.lines);
      }
    });
  }, [dossierId]);

  return (
    <section aria-labelledby="log-title">
      <p class="utrecht-paragraph kluis-back">
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "dossier", dossierId })}>
          {m.t("versions.back")}
        </a>
      </p>
      <Heading1>
        <span id="log-title">{m.t("log.heading")}</span>
      </Heading1>
      {dossier?.title ? <p class="utrecht-paragraph kluis-meta">{dossier.title}</p> : null}
      <p class="utrecht-paragraph">{m.t("log.intro")}</p>
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy ? <ProgressNote progress={null} fallback={m.t("log.loading")} /> : null}
      {lines !== null ? <Alert type="ok">{m.t("log.verified")}</Alert> : null}
      {lines !== null && lines.length === 0 ? <p class="utrecht-paragraph">{m.t("log.none")}</p> : null}
      {lines !== null && lines.length > 0 ? (
        <ol class="utrecht-ordered-list kluis-log" reversed data-testid="log">
          {[...lines].reverse().map((line) => (
            <li class="utrecht-ordered-list__item" key={line.seq}>
              {logSentence(m, line)}
            </li>
          ))}
        </ol>
      ) : null}
    </section>
  );
}

export function VersionsScreen({ dossierId, documentId }: { dossierId: string; documentId: string }) {
  const app = useApp();
  const { m, me } = app;
  const load = useTask();
  const action = useTask();
  const [versions, setVersions] = useState<VersionSummary[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    void load.run(() => app.vault.call({ type: "versions", documentId })).then((r) => r && setVersions(r.versions));
  }, [documentId]);

  const download = async (v: VersionSummary): Promise<void> => {
    setNotice(null);
    const saved = await saveDocument(app.vault, action, documentId, v.version, v.name);
    if (saved !== null) setNotice(m.t("dossier.downloaded", { name: saved }));
  };

  const name = versions?.[0]?.name ?? "";
  return (
    <section aria-labelledby="versions-title">
      <p class="utrecht-paragraph kluis-back">
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "dossier", dossierId })}>
          {m.t("versions.back")}
        </a>
      </p>
      <Heading1>
        <span id="versions-title">{m.t("versions.title", { name })}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("versions.intro")}</p>
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy ? <ProgressNote progress={null} fallback={m.t("versions.loading")} /> : null}
      <div aria-live="polite" class="kluis-live">
        {notice ? <Alert type="ok">{notice}</Alert> : null}
      </div>
      {action.error ? <Alert type="error">{action.error}</Alert> : null}
      {action.busy ? <ProgressNote progress={action.progress} fallback={m.t("dossier.loading")} /> : null}
      {versions !== null ? (
        <table class="utrecht-table utrecht-table--html-table kluis-documents" data-testid="versions">
          <thead class="utrecht-table__header">
            <tr class="utrecht-table__row">
              <th class="utrecht-table__header-cell" scope="col">{m.t("versions.col.version")}</th>
              <th class="utrecht-table__header-cell" scope="col">{m.t("dossier.col.name")}</th>
              <th class="utrecht-table__header-cell" scope="col">{m.t("dossier.col.author")}</th>
              <th class="utrecht-table__header-cell" scope="col">{m.t("dossier.col.date")}</th>
              <th class="utrecht-table__header-cell" scope="col">{m.t("dossier.col.size")}</th>
              <th class="utrecht-table__header-cell" scope="col">{m.t("dossier.col.check")}</th>
              <th class="utrecht-table__header-cell" scope="col">{m.t("dossier.col.actions")}</th>
            </tr>
          </thead>
          <tbody class="utrecht-table__body">
            {versions.map((v) => (
              <tr class="utrecht-table__row" key={v.version}>
                <th class="utrecht-table__cell" scope="row" data-label={m.t("versions.col.version")}>
                  {v.version}
                </th>
                <td class="utrecht-table__cell" data-label={m.t("dossier.col.name")}>
                  {v.name}
                </td>
                <td class="utrecht-table__cell" data-label={m.t("dossier.col.author")}>
                  {v.author === me?.username ? m.t("dossier.you") : v.author}
                </td>
                <td class="utrecht-table__cell" data-label={m.t("dossier.col.date")}>
                  {m.fullDate(v.created)}, {m.time(v.created)}
                </td>
                <td class="utrecht-table__cell" data-label={m.t("dossier.col.size")}>
                  {m.size(v.size)}
                </td>
                <td class="utrecht-table__cell" data-label={m.t("dossier.col.check")}>
                  {v.confirmed ? (
                    <span class="utrecht-status-badge utrecht-status-badge--safe">✓&nbsp;{m.t("dossier.checked")}</span>
                  ) : (
                    <span class="utrecht-status-badge utrecht-status-badge--warning">{m.t("dossier.unconfirmed")}</span>
                  )}
                </td>
                <td class="utrecht-table__cell kluis-actions-cell" data-label={m.t("dossier.col.actions")}>
                  <div class="kluis-actions">
                  {v.confirmed ? (
                    <Button
                      kind="secondary"
                      aria-label={`${m.t("dossier.downloadLabel", { name: v.name })}, ${m.t("dossier.version", { version: v.version })}`}
                      disabled={action.busy}
                      onClick={() => void download(v)}
                    >
                      {m.t("dossier.download")}
                    </Button>
                  ) : null}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
