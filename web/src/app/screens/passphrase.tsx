/**
 * A new passphrase, two ways, with the rules of the CLI (client_sdk/accounts.py):
 * "Wachtwoordzin wijzigen" (logged in: the current passphrase, then a new one) and
 * "Account herstellen" (logged out: the username, the recovery code of format section 5 as it
 * was written down, and a new passphrase). The new passphrase meets the rule of section 18;
 * the page says why one is refused (the worker refuses it again, and its reason comes back as a
 * typed code). The worker does the rest; a SecurityError ends on the security page.
 */

import { useState } from "preact/hooks";

import { InvalidRecoveryCode, WrongPassphrase } from "../../vault/errors.js";
import { useApp, useTask } from "../context.js";
import { judgeNewPassphrase } from "../passphrase.js";
import { hrefOf, navigate } from "../router.js";
import { Alert, Field, Heading1, ProgressNote } from "../ui.js";

type Problem = { field: string; text: string } | null;

/** The two new-passphrase fields and their checks, shared by both screens. */
function useNewPassphrase(prefix: string) {
  const { m } = useApp();
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [problem, setProblem] = useState<Problem>(null);

  /** The rule and the repeat; on a refusal the field gets the focus and says why. */
  const check = async (username: string): Promise<boolean> => {
    const verdict = await judgeNewPassphrase(next, username);
    if (!verdict.accepted) {
      setProblem({ field: "next", text: m.t(verdict.reason) });
      document.getElementById(`${prefix}-next`)?.focus();
      return false;
    }
    if (next !== again) {
      setProblem({ field: "again", text: m.t("register.mismatch") });
      document.getElementById(`${prefix}-again`)?.focus();
      return false;
    }
    setProblem(null);
    return true;
  };

  const fields = (
    <>
      <Field
        id={`${prefix}-next`}
        label={m.t("passphrase.new")}
        description={m.t("register.passphraseHint")}
        error={problem?.field === "next" ? problem.text : null}
        input={{ name: "new-password", type: "password", autocomplete: "new-password", required: true, value: next, onInput: (e) => setNext(e.currentTarget.value) }}
      />
      <Field
        id={`${prefix}-again`}
        label={m.t("passphrase.newAgain")}
        error={problem?.field === "again" ? problem.text : null}
        input={{ name: "new-password-again", type: "password", autocomplete: "new-password", required: true, value: again, onInput: (e) => setAgain(e.currentTarget.value) }}
      />
    </>
  );
  const clear = (): void => {
    setNext("");
    setAgain("");
  };
  return { next, check, fields, problem, setProblem, clear };
}

export function ChangePassphraseScreen() {
  const app = useApp();
  const { m } = app;
  const task = useTask();
  const [current, setCurrent] = useState("");
  const [done, setDone] = useState(false);
  const fresh = useNewPassphrase("change");

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (app.me === null) return;
    if (current.length === 0) {
      fresh.setProblem({ field: "current", text: m.t("passphrase.currentEmpty") });
      document.getElementById("change-current")?.focus();
      return;
    }
    if (!(await fresh.check(app.me.username))) return;
    const result = await task.run(
      (progress) => app.vault.call({ type: "changePassphrase", current, next: fresh.next }, [], progress),
      "",
      (error) => (error instanceof WrongPassphrase ? m.t("passphrase.currentWrong") : null),
    );
    if (result !== undefined) {
      setCurrent("");
      fresh.clear();
      app.setMe(result.identity);
      setDone(true);
    }
  };

  return (
    <section aria-labelledby="change-title">
      <Heading1>
        <span id="change-title">{m.t("passphrase.changeTitle")}</span>
      </Heading1>
      {done ? (
        <>
          <Alert type="ok">{m.t("passphrase.changed")}</Alert>
          <p class="utrecht-paragraph">
            <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "dossiers" })}>
              {m.t("passphrase.toDossiers")}
            </a>
          </p>
        </>
      ) : (
        <>
          <p class="utrecht-paragraph">{m.t("passphrase.changeIntro")}</p>
          <form onSubmit={submit} class="kluis-form" noValidate>
            {task.error ? <Alert type="error">{task.error}</Alert> : null}
            <Field
              id="change-current"
              label={m.t("passphrase.current")}
              error={fresh.problem?.field === "current" ? fresh.problem.text : null}
              input={{ name: "password", type: "password", autocomplete: "current-password", required: true, value: current, onInput: (e) => setCurrent(e.currentTarget.value) }}
            />
            {fresh.fields}
            {task.busy ? <ProgressNote progress={task.progress} fallback={m.t("passphrase.changeBusy")} /> : null}
            <div class="utrecht-button-group">
              <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={task.busy}>
                {m.t("passphrase.changeSubmit")}
              </button>
            </div>
          </form>
        </>
      )}
    </section>
  );
}

export function RecoverAccountScreen() {
  const app = useApp();
  const { m } = app;
  const task = useTask();
  const [username, setUsername] = useState("");
  const [code, setCode] = useState("");
  const fresh = useNewPassphrase("recover");

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const name = username.trim();
    if (code.trim().length === 0) {
      fresh.setProblem({ field: "code", text: m.t("recover.codeEmpty") });
      document.getElementById("recover-code")?.focus();
      return;
    }
    if (!(await fresh.check(name))) return;
    const result = await task.run(
      (progress) => app.vault.call({ type: "recover", username: name, recoveryCode: code, next: fresh.next }, [], progress),
      "",
      (error) => (error instanceof InvalidRecoveryCode ? m.t("recover.codeInvalid") : error instanceof WrongPassphrase ? m.t("recover.wrong") : null),
    );
    if (result !== undefined) {
      setCode("");
      fresh.clear();
      app.setMe(result.identity);
      navigate({ name: "dossiers" });
    }
  };

  const codeError = fresh.problem?.field === "code" ? fresh.problem.text : null;
  return (
    <section aria-labelledby="recover-title">
      <Heading1>
        <span id="recover-title">{m.t("recover.title")}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("recover.intro")}</p>
      <form onSubmit={submit} class="kluis-form" noValidate>
        {task.error ? <Alert type="error">{task.error}</Alert> : null}
        <Field
          id="recover-username"
          label={m.t("login.username")}
          input={{ name: "username", type: "text", autocomplete: "username", autocapitalize: "none", spellcheck: false, required: true, value: username, onInput: (e) => setUsername(e.currentTarget.value) }}
        />
        <div class={`utrecht-form-field utrecht-form-field--text${codeError ? " utrecht-form-field--invalid" : ""}`}>
          <div class="utrecht-form-field__label">
            <label class="utrecht-form-label" for="recover-code">
              {m.t("recover.code")}
            </label>
          </div>
          <div class="utrecht-form-field__description utrecht-form-field-description" id="recover-code-hint">
            {m.t("recover.codeHint")}
          </div>
          {codeError ? (
            <div class="utrecht-form-field__error-message utrecht-form-field-error-message" id="recover-code-error">
              {codeError}
            </div>
          ) : null}
          <div class="utrecht-form-field__input">
            <textarea
              id="recover-code"
              name="recovery-code"
              class={`utrecht-textarea utrecht-textarea--html-textarea${codeError ? " utrecht-textarea--invalid" : ""}`}
              rows={6}
              autocomplete="off"
              autocapitalize="none"
              spellcheck={false}
              aria-required="true"
              aria-invalid={codeError ? "true" : undefined}
              aria-describedby={codeError ? "recover-code-hint recover-code-error" : "recover-code-hint"}
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
          </div>
        </div>
        {fresh.fields}
        {task.busy ? <ProgressNote progress={task.progress} fallback={m.t("recover.busy")} /> : null}
        <div class="utrecht-button-group">
          <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={task.busy}>
            {m.t("recover.submit")}
          </button>
        </div>
      </form>
      <p class="utrecht-paragraph">
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "login" })}>
          {m.t("recover.toLogin")}
        </a>
      </p>
    </section>
  );
}
