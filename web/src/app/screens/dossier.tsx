/**
 * One dossier: its documents (every one verified in the worker against the owner's signed index
 * and its signed header), adding documents (file picker, several at once, drag and drop, a
 * phone's camera), new versions, downloads and image previews.
 *
 * A download is handed to the browser only after the worker checked everything: with File
 * System Access the worker writes into the file the person chose, which the browser puts in
 * place only after the last check (`saveDocument`); otherwise the page gets the content as a
 * Blob and saves it with a download link. A preview shows a decrypted image
 * only as a blob: URL in an <img> (never as a page, an SVG or an object: no active content).
 */

import { useEffect, useRef, useState } from "preact/hooks";

import { MAX_FILE_BYTES, type DocumentSummary, type DossierSummary, type SaveTarget } from "../../worker/protocol.js";
import { useApp, useTask, type App, type Task } from "../context.js";
import { hrefOf } from "../router.js";
import { Alert, Button, Heading1, ProgressNote } from "../ui.js";

/** Raster images a browser shows in <img> without running anything (no SVG). */
const PREVIEWABLE = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"]);

export function saveBlob(content: Blob, name: string): void {
  const url = URL.createObjectURL(content);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.rel = "noopener";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** File System Access's save dialog (Chromium, Edge), where the browser has it. */
type SavePicker = (options: { suggestedName: string }) => Promise<SaveTarget>;

export function savePicker(): SavePicker | null {
  const picker = (globalThis as { showSaveFilePicker?: SavePicker }).showSaveFilePicker;
  return typeof picker === "function" ? picker.bind(globalThis) : null;
}

/**
 * Save a document: where the browser has File System Access, the person picks the file first
 * and the worker streams into it (put in place only after every check; any size); otherwise
 * the worker opens it in memory (up to MAX_FILE_BYTES) and the page offers it as a download once
 * every check passed. Answers the name saved, or null (cancelled, or failed: the task says).
 */
export async function saveDocument(
  vault: App["vault"],
  task: Task,
  documentId: string,
  version: number | null,
  name: string,
): Promise<string | null> {
  const picker = savePicker();
  if (picker !== null) {
    let target: SaveTarget;
    try {
      target = await picker({ suggestedName: name });
    } catch {
      return null; // the person closed the dialog
    }
    const r = await task.run((progress) => vault.call({ type: "openDocument", documentId, version, target }, [], progress), name);
    return r === undefined ? null : r.document.name;
  }
  const r = await task.run((progress) => vault.call({ type: "openDocument", documentId, version }, [], progress), name);
  if (r === undefined || r.content === null) return null;
  saveBlob(r.content, r.document.name);
  return r.document.name;
}

/** Rows put on screen at a time: a dossier of 10,000 documents lists at once, and stays usable. */
export const LIST_PAGE = 100;

/** The documents whose name or title holds `query` (case and accents aside). */
export function matching(documents: DocumentSummary[], query: string): DocumentSummary[] {
  const fold = (text: string) => text.normalize("NFD").replace(/\p{M}/gu, "").toLocaleLowerCase();
  const wanted = fold(query.trim());
  if (wanted === "") return documents;
  return documents.filter((d) => fold(d.name).includes(wanted) || fold(d.title).includes(wanted));
}

interface Preview {
  name: string;
  url: string;
}

export function DossierScreen({ dossierId }: { dossierId: string }) {
  const app = useApp();
  const { m, me } = app;
  const load = useTask();
  const add = useTask();
  const action = useTask();
  const [dossier, setDossier] = useState<DossierSummary | null>(null);
  const [documents, setDocuments] = useState<DocumentSummary[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [dragging, setDragging] = useState(false);
  const [query, setQuery] = useState("");
  const [shown, setShown] = useState(LIST_PAGE);
  const versionInput = useRef<HTMLInputElement>(null);
  const versionFor = useRef<DocumentSummary | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);

  const refresh = async (): Promise<void> => {
    const r = await load.run(() => app.vault.call({ type: "documents", dossierId }));
    if (r !== undefined) {
      setDossier(r.dossier);
      setDocuments(r.documents);
    }
  };

  useEffect(() => {
    void refresh();
  }, [dossierId]);

  useEffect(() => {
    if (preview !== null && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [preview]);

  const addFiles = async (files: File[]): Promise<void> => {
    if (files.length === 0) return;
    setNotice(null);
    const tooLarge = files.find((f) => f.size > MAX_FILE_BYTES);
    const r = await add.run((progress) => app.vault.call({ type: "addDocuments", dossierId, files }, [], progress), tooLarge?.name ?? files[0]?.name ?? "");
    if (r !== undefined) {
      setNotice(m.plural_("dossier.added", r.documents.length));
      await refresh();
    }
  };

  const addVersion = async (doc: DocumentSummary, file: File): Promise<void> => {
    setNotice(null);
    const r = await action.run((progress) => app.vault.call({ type: "addVersion", documentId: doc.documentId, file }, [], progress), file.name);
    if (r !== undefined) {
      setNotice(m.t("dossier.versionAdded", { version: r.document.version, name: r.document.name }));
      await refresh();
    }
  };

  const download = async (doc: DocumentSummary): Promise<void> => {
    setNotice(null);
    const saved = await saveDocument(app.vault, action, doc.documentId, null, doc.name);
    if (saved !== null) setNotice(m.t("dossier.downloaded", { name: saved }));
  };

  const view = async (doc: DocumentSummary, button: HTMLElement): Promise<void> => {
    setNotice(null);
    opener.current = button;
    const r = await action.run((progress) => app.vault.call({ type: "openDocument", documentId: doc.documentId, version: null }, [], progress), doc.name);
    if (r !== undefined && r.content !== null && PREVIEWABLE.has(r.document.mediaType)) {
      setPreview({ name: r.document.name, url: URL.createObjectURL(new Blob([r.content], { type: r.document.mediaType })) });
    }
  };

  const closePreview = (): void => {
    if (preview) URL.revokeObjectURL(preview.url);
    setPreview(null);
    opener.current?.focus();
  };

  const writable = dossier?.role === "owner" || dossier?.role === "write";
  const busy = add.busy || action.busy;
  const found = documents === null ? [] : matching(documents, query);
  const visible = found.slice(0, shown);

  return (
    <section aria-labelledby="dossier-title">
      <p class="utrecht-paragraph kluis-back">
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "dossiers" })}>
          {m.t("dossier.back")}
        </a>
      </p>
      <Heading1>
        <span id="dossier-title">{dossier ? (dossier.title ?? m.t("dossiers.sharedDocuments", { name: dossier.owner })) : m.t("dossier.documents")}</span>
      </Heading1>
      {dossier ? (
        <p class="utrecht-paragraph kluis-meta">
          {dossier.role === "owner" ? m.t("dossiers.mine") : m.t("dossiers.sharedBy", { name: dossier.owner })} ·{" "}
          <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "log", dossierId })}>
            {m.t("dossier.log")}
          </a>
          {dossier.role === "owner" ? (
            <>
              {" · "}
              <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "share", dossierId, documentId: null })}>
                {m.t("share.link")}
              </a>
              {" · "}
              <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "receipts", dossierId })}>
                {m.t("inbox.receiptsLink")}
              </a>
            </>
          ) : null}
          {" · "}
          <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "export", dossierId })}>
            {m.t("export.link")}
          </a>
        </p>
      ) : null}
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy && documents === null ? <ProgressNote progress={null} fallback={m.t("dossier.loading")} /> : null}
      <div aria-live="polite" class="kluis-live">
        {notice ? <Alert type="ok">{notice}</Alert> : null}
      </div>
      {action.error ? <Alert type="error">{action.error}</Alert> : null}
      {action.busy ? <ProgressNote progress={action.progress} fallback={m.t("dossier.loading")} /> : null}

      <h2 class="utrecht-heading-2">{m.t("dossier.documents")}</h2>
      {documents !== null && documents.length === 0 ? <p class="utrecht-paragraph">{m.t("dossier.none")}</p> : null}
      {documents !== null && documents.length > LIST_PAGE ? (
        <p class="utrecht-form-field kluis-search">
          <label class="utrecht-form-label" for="dossier-search">
            {m.t("dossier.search")}
          </label>
          <input
            id="dossier-search"
            type="search"
            class="utrecht-textbox utrecht-textbox--html-input"
            value={query}
            onInput={(e) => {
              setQuery(e.currentTarget.value);
              setShown(LIST_PAGE);
            }}
          />
        </p>
      ) : null}
      {documents !== null && documents.length > 0 && found.length === 0 ? <p class="utrecht-paragraph">{m.t("dossier.noMatch", { query: query.trim() })}</p> : null}
      {visible.length > 0 ? (
        <table class="utrecht-table utrecht-table--html-table kluis-documents" data-testid="documents">
          <thead class="utrecht-table__header">
            <tr class="utrecht-table__row">
              <th class="utrecht-table__header-cell" scope="col">{m.t("dossier.col.name")}</th>
              <th class="utrecht-table__header-cell" scope="col">{m.t("dossier.col.version")}</th>
              <th class="utrecht-table__header-cell" scope="col">{m.t("dossier.col.author")}</th>
              <th class="utrecht-table__header-cell" scope="col">{m.t("dossier.col.date")}</th>
              <th class="utrecht-table__header-cell utrecht-table__header-cell--numeric-column" scope="col">{m.t("dossier.col.size")}</th>
              <th class="utrecht-table__header-cell" scope="col">{m.t("dossier.col.check")}</th>
              <th class="utrecht-table__header-cell" scope="col">{m.t("dossier.col.actions")}</th>
            </tr>
          </thead>
          <tbody class="utrecht-table__body">
            {visible.map((d) => (
              <tr class="utrecht-table__row" key={d.documentId} data-document={d.name}>
                <th class="utrecht-table__cell kluis-doc-name" scope="row" data-label={m.t("dossier.col.name")}>
                  {d.name}
                  {d.title ? <span class="kluis-doc-title">{d.title}</span> : null}
                </th>
                <td class="utrecht-table__cell" data-label={m.t("dossier.col.version")}>
                  {d.version}
                </td>
                <td class="utrecht-table__cell" data-label={m.t("dossier.col.author")}>
                  {d.authorId === me?.userId ? m.t("dossier.you") : d.author}
                  {!d.authorVerified ? <span class="kluis-doc-title">{m.t("dossier.authorNotVerified")}</span> : null}
                </td>
                <td class="utrecht-table__cell" data-label={m.t("dossier.col.date")}>
                  {m.fullDate(d.created)}
                </td>
                <td class="utrecht-table__cell utrecht-table__cell--numeric-data" data-label={m.t("dossier.col.size")}>
                  {m.size(d.size)}
                </td>
                <td class="utrecht-table__cell" data-label={m.t("dossier.col.check")}>
                  {d.confirmed ? (
                    <span class="utrecht-status-badge utrecht-status-badge--safe" title={m.t("dossier.checkedHint")}>
                      ✓&nbsp;{m.t("dossier.checked")}
                    </span>
                  ) : (
                    <span class="utrecht-status-badge utrecht-status-badge--warning" title={m.t("dossier.unconfirmedHint")}>
                      {m.t("dossier.unconfirmed")}
                    </span>
                  )}
                  {d.unconfirmedVersion > 0 ? (
                    <span class="kluis-doc-title">{m.t("dossier.newerUnconfirmed", { version: d.unconfirmedVersion, name: d.unconfirmedAuthor, shown: d.version })}</span>
                  ) : null}
                </td>
                <td class="utrecht-table__cell kluis-actions-cell" data-label={m.t("dossier.col.actions")}>
                  <div class="kluis-actions">
                  <Button kind="secondary" aria-label={m.t("dossier.downloadLabel", { name: d.name })} disabled={busy} onClick={() => void download(d)}>
                    {m.t("dossier.download")}
                  </Button>
                  {PREVIEWABLE.has(d.mediaType) ? (
                    <Button kind="secondary" aria-label={m.t("dossier.viewLabel", { name: d.name })} disabled={busy} onClick={(e) => void view(d, e.currentTarget)}>
                      {m.t("dossier.view")}
                    </Button>
                  ) : null}
                  {writable ? (
                    <Button
                      kind="secondary"
                      aria-label={m.t("dossier.newVersionLabel", { name: d.name })}
                      disabled={busy}
                      onClick={() => {
                        versionFor.current = d;
                        versionInput.current?.click();
                      }}
                    >
                      {m.t("dossier.newVersion")}
                    </Button>
                  ) : null}
                  <a
                    class="utrecht-link utrecht-link--html-a kluis-action-link"
                    href={hrefOf({ name: "versions", dossierId, documentId: d.documentId })}
                    aria-label={m.t("dossier.versionsLabel", { name: d.name })}
                  >
                    {m.t("dossier.versions")}
                  </a>
                  {dossier?.role === "owner" ? (
                    <a
                      class="utrecht-link utrecht-link--html-a kluis-action-link"
                      href={hrefOf({ name: "share", dossierId, documentId: d.documentId })}
                      aria-label={m.t("share.documentLinkLabel", { name: d.name })}
                    >
                      {m.t("share.documentLink")}
                    </a>
                  ) : null}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {found.length > LIST_PAGE ? (
        <div class="kluis-more">
          <p class="utrecht-paragraph kluis-meta" aria-live="polite">
            {m.t("dossier.shownOf", { shown: m.count(visible.length), total: m.count(found.length) })}
          </p>
          {visible.length < found.length ? (
            <Button kind="secondary" onClick={() => setShown(shown + LIST_PAGE)}>
              {m.t("dossier.showMore")}
            </Button>
          ) : null}
        </div>
      ) : null}
      <input
        type="file"
        hidden
        ref={versionInput}
        data-testid="version-input"
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          const doc = versionFor.current;
          e.currentTarget.value = "";
          if (file && doc) void addVersion(doc, file);
        }}
      />

      {dossier !== null && !writable ? <p class="utrecht-paragraph">{m.t("dossier.readOnly")}</p> : null}
      {writable ? (
        <section
          aria-labelledby="add-title"
          class={`kluis-dropzone${dragging ? " kluis-dropzone--active" : ""}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            void addFiles([...(e.dataTransfer?.files ?? [])]);
          }}
          data-testid="dropzone"
        >
          <h2 class="utrecht-heading-2" id="add-title">
            {m.t("dossier.add")}
          </h2>
          <p class="utrecht-paragraph">{m.t("dossier.addIntro")}</p>
          <div class="utrecht-button-group">
            <label class="utrecht-button utrecht-button--primary-action kluis-file-button">
              <input
                type="file"
                multiple
                class="kluis-visually-hidden"
                disabled={busy}
                data-testid="add-files"
                onChange={(e) => {
                  const files = [...(e.currentTarget.files ?? [])];
                  e.currentTarget.value = "";
                  void addFiles(files);
                }}
              />
              {m.t("dossier.addFiles")}
            </label>
            <label class="utrecht-button utrecht-button--secondary-action kluis-file-button">
              <input
                type="file"
                accept="image/*"
                capture="environment"
                class="kluis-visually-hidden"
                disabled={busy}
                data-testid="add-photo"
                onChange={(e) => {
                  const files = [...(e.currentTarget.files ?? [])];
                  e.currentTarget.value = "";
                  void addFiles(files);
                }}
              />
              {m.t("dossier.addPhoto")}
            </label>
          </div>
          <p class="utrecht-paragraph kluis-meta">
            {m.t("dossier.drop")} {m.t("dossier.maxSize", { size: m.size(MAX_FILE_BYTES) })}
          </p>
          {add.error ? <Alert type="error">{add.error}</Alert> : null}
          {add.busy ? <ProgressNote progress={add.progress} fallback={m.t("dossier.loading")} /> : null}
        </section>
      ) : null}

      {preview !== null ? (
        <dialog ref={dialog} class="kluis-preview" aria-labelledby="preview-title" onClose={closePreview}>
          <h2 class="utrecht-heading-2" id="preview-title">
            {m.t("dossier.previewTitle", { name: preview.name })}
          </h2>
          <img src={preview.url} alt={m.t("dossier.previewAlt", { name: preview.name })} data-testid="preview-image" />
          <div class="utrecht-button-group">
            <Button onClick={() => dialog.current?.close()}>{m.t("dossier.previewClose")}</Button>
          </div>
        </dialog>
      ) : null}
    </section>
  );
}
