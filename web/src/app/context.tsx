/**
 * What every screen shares: the worker client, the messages in the chosen language, who is
 * logged in, and `run`, which every call to the worker goes through. A SecurityError never
 * becomes a message on a form: `run` hands it to the full-page security screen (fail closed,
 * visibly), and the screen's own state is dropped.
 */

import { createContext } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";

import { SecurityError, WeakPassphrase, WrongPassphrase } from "../vault/errors.js";
import { securityCheckOf, type VaultClient } from "../worker/client.js";
import { ApiError, ClientError, ServerUnreachable, TooLarge, UnconfirmedVersionError } from "../worker/errors.js";
import { MAX_FILE_BYTES, type PublicIdentityInfo, type SecurityCheck, type TransferProgress } from "../worker/protocol.js";
import type { Lang, Messages } from "./i18n.js";

export interface Failure {
  check: SecurityCheck;
  /** The error's own (English, technical) text, for the administrator. */
  detail: string;
  /** Unix seconds. */
  at: number;
}

export interface App {
  vault: VaultClient;
  m: Messages;
  setLang(lang: Lang): void;
  me: PublicIdentityInfo | null;
  setMe(me: PublicIdentityInfo | null): void;
  /** Show the security page for a SecurityError; true if it was one. */
  fail(error: unknown): boolean;
  logout(): Promise<void>;
}

export const AppContext = createContext<App | null>(null);

export function useApp(): App {
  const app = useContext(AppContext);
  if (app === null) throw new Error("no App context");
  return app;
}

export function failureOf(error: unknown): Failure | null {
  if (!(error instanceof SecurityError)) return null;
  return { check: securityCheckOf(error) ?? "answer", detail: `${error.name}: ${error.message}`, at: Math.floor(Date.now() / 1000) };
}

/** A plain Dutch (or English) sentence for a failure that is not a security failure. */
export function errorText(m: Messages, error: unknown, fileName = ""): string {
  if (error instanceof WrongPassphrase) return m.t("error.wrongPassphrase");
  // The worker applies the passphrase rule too; its reason comes back as a typed code.
  if (error instanceof WeakPassphrase && error.reason !== null) return m.t(`register.weak.${error.reason}`);
  if (error instanceof ServerUnreachable) return m.t("error.unreachable");
  if (error instanceof TooLarge) return m.t("error.tooLarge", { name: fileName || error.message.split(" is ")[0] || "", size: m.size(MAX_FILE_BYTES) });
  if (error instanceof UnconfirmedVersionError) return m.t("error.unconfirmed");
  if (error instanceof ApiError) {
    if (error.status === 409 && error.code === "conflict") return m.t("error.usernameTaken");
    if (error.status === 429) return m.t("error.rateLimited");
    if (error.code === "quota_exceeded") return m.t("error.quota");
    if (error.status === 413) return m.t("error.payloadTooLarge");
    if (error.status === 404) return m.t("error.notFound");
    if (error.status === 403) return m.t("error.readOnly");
    if (error.status === 401) return m.t("error.sessionEnded");
    return m.t("error.generic");
  }
  if (error instanceof ClientError) {
    if (error.message.startsWith("a username")) return m.t("error.username");
    if (error.message.includes("may read this dossier")) return m.t("error.readOnly");
    if (error.message.includes("not a name a document may have")) return m.t("error.badName", { name: fileName });
  }
  return m.t("error.generic");
}

export interface Task {
  busy: boolean;
  error: string | null;
  progress: TransferProgress | null;
  /**
   * Run `work`; a SecurityError goes to the security page, any other failure to `error`, in
   * the words of `explain` when it has its own for that failure.
   */
  run<T>(work: (progress: (p: TransferProgress) => void) => Promise<T>, fileName?: string, explain?: (error: unknown) => string | null): Promise<T | undefined>;
  clear(): void;
}

export function useTask(): Task {
  const app = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<TransferProgress | null>(null);
  const alive = useRef(true);
  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );
  const run = useCallback(
    async <T,>(work: (progress: (p: TransferProgress) => void) => Promise<T>, fileName = "", explain?: (error: unknown) => string | null): Promise<T | undefined> => {
      setBusy(true);
      setError(null);
      setProgress(null);
      try {
        return await work((p) => alive.current && setProgress(p));
      } catch (e) {
        if (app.fail(e)) return undefined;
        if (e instanceof ApiError && e.status === 401 && app.me !== null) {
          await app.logout();
        }
        if (alive.current) setError(explain?.(e) ?? errorText(app.m, e, fileName));
        return undefined;
      } finally {
        if (alive.current) {
          setBusy(false);
          setProgress(null);
        }
      }
    },
    [app],
  );
  return { busy, error, progress, run, clear: () => setError(null) };
}
