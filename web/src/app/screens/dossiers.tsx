/** My dossiers: the list (each dossier verified in the worker) and a new dossier. */

import { useEffect, useState } from "preact/hooks";

import type { DossierSummary } from "../../worker/protocol.js";
import { useApp, useTask } from "../context.js";
import { hrefOf, navigate } from "../router.js";
import { Alert, Field, Heading1, ProgressNote } from "../ui.js";

export function DossiersScreen() {
  const app = useApp();
  const { m } = app;
  const load = useTask();
  const create = useTask();
  const [dossiers, setDossiers] = useState<DossierSummary[] | null>(null);
  const [title, setTitle] = useState("");
  const [titleError, setTitleError] = useState<string | null>(null);

  useEffect(() => {
    void load.run(() => app.vault.call({ type: "dossiers" })).then((r) => r && setDossiers(r.dossiers));
  }, []);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (title.trim().length === 0) {
      setTitleError(m.t("dossiers.newEmpty"));
      document.getElementById("dossier-title")?.focus();
      return;
    }
    setTitleError(null);
    const r = await create.run(() => app.vault.call({ type: "createDossier", title: title.trim() }));
    if (r !== undefined) navigate({ name: "dossier", dossierId: r.dossierId });
  };

  return (
    <section aria-labelledby="dossiers-title">
      <Heading1>
        <span id="dossiers-title">{m.t("dossiers.title")}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("dossiers.intro")}</p>
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy ? <ProgressNote progress={null} fallback={m.t("dossiers.loading")} /> : null}
      {dossiers !== null && dossiers.length === 0 ? <p class="utrecht-paragraph">{m.t("dossiers.none")}</p> : null}
      {dossiers !== null && dossiers.length > 0 ? (
        <ul class="kluis-cards" data-testid="dossier-list">
          {dossiers.map((d) => (
            <li key={d.dossierId} class="kluis-card">
              <h2 class="utrecht-heading-3">
                <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "dossier", dossierId: d.dossierId })}>
                  {d.title ?? m.t("dossiers.sharedDocuments", { name: d.owner })}
                </a>
              </h2>
              <p class="utrecht-paragraph kluis-meta">
                {m.plural_("dossiers.documents", d.documentCount)} · {d.role === "owner" ? m.t("dossiers.mine") : m.t("dossiers.sharedBy", { name: d.owner })} ·{" "}
                {m.t("dossiers.since", { date: m.fullDate(d.created) })}
              </p>
            </li>
          ))}
        </ul>
      ) : null}
      <h2 class="utrecht-heading-2">{m.t("dossiers.new")}</h2>
      <form onSubmit={submit} class="kluis-form" noValidate>
        {create.error ? <Alert type="error">{create.error}</Alert> : null}
        <Field
          id="dossier-title"
          label={m.t("dossiers.newTitle")}
          description={m.t("dossiers.newHint")}
          error={titleError}
          input={{ type: "text", autocomplete: "off", maxLength: 1024, value: title, onInput: (e) => setTitle(e.currentTarget.value) }}
        />
        <div class="utrecht-button-group">
          <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={create.busy}>
            {m.t("dossiers.newSubmit")}
          </button>
        </div>
      </form>
    </section>
  );
}
