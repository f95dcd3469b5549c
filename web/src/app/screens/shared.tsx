/** "Gedeeld met mij": the shares to me, each grant opened and its sharer checked (section 12). */

import { useEffect, useState } from "preact/hooks";

import type { SharedRow } from "../../worker/protocol.js";
import { useApp, useTask } from "../context.js";
import { hrefOf } from "../router.js";
import { Alert, Heading1, ProgressNote } from "../ui.js";
import { shareUntil } from "./share.js";

export function SharedScreen() {
  const app = useApp();
  const { m } = app;
  const load = useTask();
  const [shares, setShares] = useState<SharedRow[] | null>(null);

  useEffect(() => {
    void load.run(() => app.vault.call({ type: "sharedWithMe" })).then((r) => r && setShares(r.shares));
  }, []);

  return (
    <section aria-labelledby="shared-title">
      <Heading1>
        <span id="shared-title">{m.t("share.sharedTitle")}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("share.sharedIntro")}</p>
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy ? <ProgressNote progress={null} fallback={m.t("share.sharedLoading")} /> : null}
      {shares !== null && shares.length === 0 ? <p class="utrecht-paragraph">{m.t("share.sharedNone")}</p> : null}
      {shares !== null && shares.length > 0 ? (
        <ul class="kluis-cards" data-testid="shared-list">
          {shares.map((s) => (
            <li key={`${s.dossierId}/${s.documentId ?? ""}/${s.rights}/${s.expiresAt}`} class="kluis-card">
              <h2 class="utrecht-heading-3">
                <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "dossier", dossierId: s.dossierId })}>
                  {s.documentId !== null ? m.t("share.sharedDocument", { name: s.granter }) : (s.title ?? m.t("share.sharedUntitled", { name: s.granter }))}
                </a>
              </h2>
              <p class="utrecht-paragraph kluis-meta">
                {m.t("share.sharedBy", { name: s.granter })}
                {s.granterVerified ? "" : ` (${m.t("share.notVerified")})`} · {s.rights === "write" ? m.t("share.sharedWrite") : m.t("share.sharedRead")} ·{" "}
                {shareUntil(m, s.expiresAt, false)} · {m.t("share.sharedSince", { date: m.fullDate(s.since) })}
              </p>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
