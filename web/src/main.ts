/**
 * The placeholder page: "Kluis", one Dutch sentence, and proof that the vault worker started
 * and libsodium initialised inside it. The real screens come later (Preact, NL Design System).
 */

import { h, render } from "preact";
import { useEffect, useState } from "preact/hooks";

import { VaultClient } from "./worker/client.js";

type Status = { state: "loading" } | { state: "ok"; version: string } | { state: "error" };

function WorkerStatus({ client }: { client: VaultClient }) {
  const [status, setStatus] = useState<Status>({ state: "loading" });
  useEffect(() => {
    client.call({ type: "init" }).then(
      (result) => setStatus({ state: "ok", version: result.sodiumVersion }),
      () => setStatus({ state: "error" }),
    );
  }, [client]);
  const text =
    status.state === "loading"
      ? "De beveiliging wordt geladen…"
      : status.state === "ok"
        ? `De beveiliging is klaar: de versleuteling (libsodium ${status.version}) werkt in deze browser.`
        : "De beveiliging kon niet worden geladen. Probeer een nieuwere browser, of neem contact op met de beheerder.";
  return h("p", { class: "status", role: "status", "data-state": status.state, id: "status" }, text);
}

function App({ client }: { client: VaultClient }) {
  return h(
    "main",
    { id: "app" },
    h("h1", null, "Kluis"),
    h(
      "p",
      null,
      "Uw dossier over de schade aan uw huis, veilig bewaard. Alleen u en de mensen met wie u het deelt, kunnen het lezen.",
    ),
    h(WorkerStatus, { client }),
  );
}

const client = VaultClient.start(new URL("./worker.js", import.meta.url));
const root = document.getElementById("app");
if (root?.parentElement) {
  const host = root.parentElement;
  root.remove();
  render(h(App, { client }), host);
}
