/**
 * "Alles downloaden": the export (docs/client.md 17, worker/export.ts). The person chooses a
 * passphrase for the key file; the worker writes the zip: every confirmed version as an age
 * file, the key, README.txt and open.sh. The files open without Kluis, with the free program age.
 */

import { useState } from "preact/hooks";

import type { SaveTarget } from "../../worker/protocol.js";
import { useApp, useTask } from "../context.js";
import { hrefOf } from "../router.js";
import { Alert, Field, Heading1, ProgressNote } from "../ui.js";
import { saveBlob, savePicker } from "./dossier.js";

export function ExportScreen({ dossierId }: { dossierId: string }) {
  const app = useApp();
  const { m } = app;
  const task = useTask();
  const [passphrase, setPassphrase] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setNotice(null);
    if (passphrase.length === 0 || passphrase !== again) {
      setError(m.t(passphrase.length === 0 ? "export.empty" : "export.mismatch"));
      document.getElementById("export-passphrase")?.focus();
      return;
    }
    setError(null);
    const name = `kluis-export-${dossierId.slice(0, 8)}.zip`;
    const picker = savePicker();
    let target: SaveTarget | undefined;
    if (picker !== null) {
      try {
        target = await picker({ suggestedName: name });
      } catch {
        return; // the person closed the dialog
      }
    }
    const r = await task.run((progress) => app.vault.call({ type: "exportDossier", dossierId, passphrase, ...(target ? { target } : {}) }, [], progress), name);
    if (r === undefined) return;
    if (r.content !== null) saveBlob(r.content, name);
    setPassphrase("");
    setAgain("");
    setNotice(m.t("export.done", { name, files: r.files }) + (r.leftOut.length > 0 ? ` ${m.t("export.leftOut", { names: r.leftOut.join(", ") })}` : ""));
  };

  return (
    <section aria-labelledby="export-title">
      <p class="utrecht-paragraph kluis-back">
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "dossier", dossierId })}>
          {m.t("export.back")}
        </a>
      </p>
      <Heading1>
        <span id="export-title">{m.t("export.title")}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("export.intro")}</p>
      <p class="utrecht-paragraph">{m.t("export.age")}</p>
      <div aria-live="polite" class="kluis-live">
        {notice ? <Alert type="ok">{notice}</Alert> : null}
      </div>
      {task.error ? <Alert type="error">{task.error}</Alert> : null}
      {task.busy ? <ProgressNote progress={task.progress} fallback={m.t("export.busy")} /> : null}
      <form onSubmit={submit} class="kluis-form" noValidate>
        <Field
          id="export-passphrase"
          label={m.t("export.passphrase")}
          description={m.t("export.passphraseHint")}
          error={error}
          input={{ type: "password", autocomplete: "new-password", value: passphrase, onInput: (e) => setPassphrase(e.currentTarget.value) }}
        />
        <Field
          id="export-again"
          label={m.t("export.again")}
          input={{ type: "password", autocomplete: "new-password", value: again, onInput: (e) => setAgain(e.currentTarget.value) }}
        />
        <div class="utrecht-button-group">
          <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={task.busy}>
            {m.t("export.submit")}
          </button>
        </div>
      </form>
    </section>
  );
}
