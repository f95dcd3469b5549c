/**
 * The page: the app shell (header with the language switch and logout, the screen, a footer),
 * the router, and the security page that every SecurityError ends on. The page never holds a
 * key: it talks to the vault worker (worker/worker.ts) through worker/client.ts.
 */

import { render } from "preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";

import { failureOf, AppContext, type App, type Failure } from "./app/context.js";
import { Messages, storeLang, storedLang, type Lang } from "./app/i18n.js";
import { navigate, useRoute } from "./app/router.js";
import { LoginScreen, RecoveryScreen, RegisterScreen } from "./app/screens/account.js";
import { DossierScreen } from "./app/screens/dossier.js";
import { DossiersScreen } from "./app/screens/dossiers.js";
import { LogScreen, VersionsScreen } from "./app/screens/log.js";
import { ConversationScreen, GroupScreen } from "./app/screens/groups/home.js";
import { GroupsScreen, MessagesScreen } from "./app/screens/groups/list.js";
import { NotifyScreen } from "./app/screens/notify.js";
import { ChangePassphraseScreen, RecoverAccountScreen } from "./app/screens/passphrase.js";
import { SecurityScreen } from "./app/screens/security.js";
import { CaseScreen, InboxScreen } from "./app/screens/inbox.js";
import { OrganisationScreen, OrganisationsScreen } from "./app/screens/organisations.js";
import { ReceiptsScreen } from "./app/screens/receipts.js";
import { ExportScreen } from "./app/screens/export.js";
import { ContactsScreen } from "./app/screens/contacts.js";
import { ShareScreen } from "./app/screens/share.js";
import { SharedScreen } from "./app/screens/shared.js";
import { Alert } from "./app/ui.js";
import { VaultClient } from "./worker/client.js";
import { readConfig } from "./worker/origin.js";
import type { PublicIdentityInfo } from "./worker/protocol.js";

function Shell({ vault }: { vault: VaultClient }) {
  const [lang, setLangState] = useState<Lang>(storedLang);
  const m = useMemo(() => new Messages(lang), [lang]);
  const [ready, setReady] = useState<"loading" | "ok" | "error" | "noConfig">("loading");
  const [server, setServer] = useState<string | null>(null);
  const [me, setMe] = useState<PublicIdentityInfo | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [recovery, setRecovery] = useState<string | null>(null);
  const [loggedOut, setLoggedOut] = useState(false);
  const [generation, setGeneration] = useState(0);
  const route = useRoute();

  useEffect(() => {
    loadServer().then(
      (remote) => {
        setServer(remote ?? location.origin);
        return vault.call({ type: "init", server: remote }).then(
          () => setReady("ok"),
          (error: unknown) => {
            // The worker's code did not match its hash (check "code"): the security page, not a retry.
            const failed = failureOf(error);
            if (failed !== null) setFailure(failed);
            setReady("error");
          },
        );
      },
      () => setReady("noConfig"),
    );
  }, [vault]);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = m.t("app.name");
  }, [lang, m]);

  const logout = useCallback(async () => {
    try {
      await vault.call({ type: "logout" });
    } finally {
      setMe(null);
      setRecovery(null);
      setFailure(null);
      setLoggedOut(true);
      setGeneration((g) => g + 1);
      navigate({ name: "login" });
    }
  }, [vault]);

  const app: App = useMemo(
    () => ({
      vault,
      m,
      setLang: (l: Lang) => {
        storeLang(l);
        setLangState(l);
      },
      me,
      setMe: (who) => {
        setMe(who);
        if (who !== null) setLoggedOut(false);
      },
      fail: (error: unknown) => {
        const f = failureOf(error);
        if (f !== null) setFailure(f);
        return f !== null;
      },
      logout,
    }),
    [vault, m, me, logout],
  );

  let screen;
  if (ready === "loading") screen = <p class="utrecht-paragraph" role="status">{m.t("app.loading")}</p>;
  else if (ready === "noConfig") screen = <Alert type="error">{m.t("app.noConfig")}</Alert>;
  else if (ready === "error" && failure === null) screen = <Alert type="error">{m.t("app.noWorker")}</Alert>;
  else if (failure !== null) {
    screen = (
      <SecurityScreen
        failure={failure}
        onBack={() => {
          setFailure(null);
          setGeneration((g) => g + 1);
          navigate({ name: "dossiers" });
        }}
      />
    );
  } else if (recovery !== null) {
    screen = (
      <RecoveryScreen
        words={recovery}
        onDone={() => {
          setRecovery(null);
          navigate({ name: "dossiers" });
        }}
      />
    );
  } else if (me === null) {
    screen = route.name === "register" ? <RegisterScreen onRegistered={setRecovery} /> : route.name === "recover" ? <RecoverAccountScreen /> : <LoginScreen loggedOut={loggedOut} />;
  } else {
    switch (route.name) {
      case "dossier":
        screen = <DossierScreen dossierId={route.dossierId} />;
        break;
      case "log":
        screen = <LogScreen dossierId={route.dossierId} />;
        break;
      case "versions":
        screen = <VersionsScreen dossierId={route.dossierId} documentId={route.documentId} />;
        break;
      case "changePassphrase":
        screen = <ChangePassphraseScreen />;
        break;
      // -- sharing and contacts
      case "share":
        screen = <ShareScreen dossierId={route.dossierId} documentId={route.documentId} />;
        break;
      case "shared":
        screen = <SharedScreen />;
        break;
      case "contacts":
        screen = <ContactsScreen username={route.username} />;
        break;
      // village groups and personal messages
      case "groups":
        screen = <GroupsScreen />;
        break;
      case "group":
        screen = <GroupScreen groupId={route.groupId} tab={route.tab} />;
        break;
      case "messages":
        screen = <MessagesScreen />;
        break;
      case "conversation":
        screen = <ConversationScreen groupId={route.groupId} />;
        break;
      case "organisations":
        screen = <OrganisationsScreen />;
        break;
      case "organisation":
        screen = <OrganisationScreen orgId={route.orgId} />;
        break;
      case "inbox":
        screen = <InboxScreen orgId={route.orgId} />;
        break;
      case "case":
        screen = <CaseScreen orgId={route.orgId} dossierId={route.dossierId} />;
        break;
      case "receipts":
        screen = <ReceiptsScreen dossierId={route.dossierId} />;
        break;
      case "export":
        screen = <ExportScreen dossierId={route.dossierId} />;
        break;
      case "notify":
        screen = <NotifyScreen />;
        break;
      default:
        screen = <DossiersScreen />;
    }
  }
  const key = `${failure ? "failure" : recovery ? "recovery" : me ? "in" : "out"}:${location.hash}:${generation}`;
  const other: Lang = lang === "nl" ? "en" : "nl";

  return (
    <AppContext.Provider value={app}>
      <a class="utrecht-skip-link utrecht-skip-link--visible-on-focus" href="#inhoud" onClick={(e) => {
        e.preventDefault();
        document.getElementById("inhoud")?.focus();
      }}>
        {m.t("skip.toContent")}
      </a>
      <header class="utrecht-page-header kluis-header">
        <div class="utrecht-page-header__content kluis-header__content">
          <p class="kluis-brand">
            <a class="kluis-brand__link" href={me ? "#/dossiers" : "#/inloggen"}>
              <img src="assets/icon.svg" alt="" width={32} height={32} />
              <span>{m.t("app.name")}</span>
            </a>
          </p>
          <nav class="kluis-nav" aria-label="Kluis">
            {me !== null && failure === null ? (
              <>
                <a class="utrecht-link utrecht-link--html-a" href="#/dossiers">
                  {m.t("nav.dossiers")}
                </a>
                <a class="utrecht-link utrecht-link--html-a" href="#/gedeeld-met-mij">
                  {m.t("nav.shared")}
                </a>
                <a class="utrecht-link utrecht-link--html-a" href="#/contacten">
                  {m.t("nav.contacts")}
                </a>
                <a class="utrecht-link utrecht-link--html-a" href="#/groepen">
                  {m.t("group.nav")}
                </a>
                <a class="utrecht-link utrecht-link--html-a" href="#/berichten">
                  {m.t("messages.nav")}
                </a>
              </>
            ) : null}
            {me !== null && failure === null ? (
              <a class="utrecht-link utrecht-link--html-a" href="#/organisaties">
                {m.t("organisation.nav")}
              </a>
            ) : null}
            <button type="button" class="utrecht-button utrecht-button--subtle kluis-lang" lang={other} aria-label={m.t("nav.languageLabel")} onClick={() => app.setLang(other)}>
              {m.t("nav.language")}
            </button>
            {me !== null ? (
              <>
                <span class="kluis-who">{m.t("nav.loggedInAs", { name: me.username })}</span>
                {failure === null ? (
                  <a class="utrecht-link utrecht-link--html-a" href="#/wachtwoordzin-wijzigen">
                    {m.t("nav.changePassphrase")}
                  </a>
                ) : null}
                {failure === null ? (
                  <a class="utrecht-link utrecht-link--html-a" href="#/meldingen">
                    {m.t("nav.notify")}
                  </a>
                ) : null}
                <button type="button" class="utrecht-button utrecht-button--secondary-action" onClick={() => void logout()}>
                  {m.t("nav.logout")}
                </button>
              </>
            ) : null}
          </nav>
        </div>
      </header>
      <main id="inhoud" tabIndex={-1} class="utrecht-page-content kluis-main">
        <div key={key}>{screen}</div>
      </main>
      <footer class="utrecht-page-footer kluis-footer">
        <div class="utrecht-page-footer__content">
          <p class="utrecht-paragraph">{m.t("footer.text")}</p>
          <p class="utrecht-paragraph">{m.t("footer.help")}</p>
          {server !== null ? <p class="utrecht-paragraph kluis-server">{m.t("footer.server", { server })}</p> : null}
        </div>
      </footer>
    </AppContext.Provider>
  );
}

/**
 * The server to talk to: `/config.json` (worker/origin.ts) says null (this page's own server)
 * or names the remote one (`kluis web`). Anything else, or no answer, and the app does not start.
 */
async function loadServer(): Promise<string | null> {
  const response = await fetch("/config.json", { cache: "no-store", credentials: "same-origin", redirect: "error" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  return readConfig(await response.text());
}

/** worker.js's SHA-384 (`sha384-...`), put in by build.mjs: the page runs no other worker code. */
declare const __KLUIS_WORKER_INTEGRITY__: string;
const vault = VaultClient.startVerified(new URL("./worker.js", import.meta.url), __KLUIS_WORKER_INTEGRITY__);
const root = document.getElementById("app");
if (root !== null) {
  root.replaceChildren();
  render(<Shell vault={vault} />, root);
}
