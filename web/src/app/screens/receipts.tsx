/**
 * A dossier's receipts, for its owner ("Ontvangen door IMG op 3 december, ondertekend"): each
 * checked in the worker against the organisation's key chain and the owner's own grants
 * (docs/client.md 14.2). A receipt that does not check ends on the security page.
 */

import { useEffect, useState } from "preact/hooks";

import type { ReceiptSummary } from "../../worker/protocol.js";
import { useApp, useTask } from "../context.js";
import { hrefOf } from "../router.js";
import { Alert, Heading1, ProgressNote } from "../ui.js";

export function ReceiptsScreen({ dossierId }: { dossierId: string }) {
  const app = useApp();
  const { m } = app;
  const load = useTask();
  const [receipts, setReceipts] = useState<ReceiptSummary[] | null>(null);

  useEffect(() => {
    void load.run(() => app.vault.call({ type: "receipts", dossierId })).then((r) => r && setReceipts(r.receipts));
  }, [dossierId]);

  return (
    <section aria-labelledby="receipts-title">
      <p class="utrecht-paragraph kluis-back">
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "dossier", dossierId })}>
          {m.t("inbox.receiptsBack")}
        </a>
      </p>
      <Heading1>
        <span id="receipts-title">{m.t("inbox.receiptsTitle")}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("inbox.receiptsIntro")}</p>
      {load.error ? <Alert type="error">{load.error}</Alert> : null}
      {load.busy ? <ProgressNote progress={null} fallback={m.t("inbox.receiptsLoading")} /> : null}
      {receipts !== null && receipts.length === 0 ? <p class="utrecht-paragraph">{m.t("inbox.receiptsNone")}</p> : null}
      {receipts !== null && receipts.length > 0 ? (
        <ul class="kluis-cards" data-testid="receipts">
          {receipts.map((r) => (
            <li key={r.receiptId} class="kluis-card">
              <p class="utrecht-paragraph">
                <strong>{m.t("inbox.receivedBy", { name: r.organisation, date: m.fullDate(r.openedAt), time: m.time(r.openedAt) })}</strong>
              </p>
              <p class="utrecht-paragraph kluis-meta">
                {m.plural_("inbox.receiptDocuments", r.documents)} · {m.t("inbox.receiptMember", { name: r.member })} ·{" "}
                {r.orgVerified ? m.t("organisation.verifiedShort") : m.t("organisation.notVerifiedShort")}
              </p>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
