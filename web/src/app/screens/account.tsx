/**
 * Log in, create an account, and the recovery code (shown once, checked by asking two of its
 * words back, printable). The passphrase fields take paste and password managers (WCAG 2.2
 * 3.3.8): `autocomplete` username / current-password / new-password, nothing blocks pasting.
 */

import { useState } from "preact/hooks";

import { useApp, useTask } from "../context.js";
import { hrefOf, navigate } from "../router.js";
import { judgeNewPassphrase } from "../passphrase.js";
import { Alert, Button, Field, Heading1, ProgressNote } from "../ui.js";

export function LoginScreen({ loggedOut }: { loggedOut: boolean }) {
  const app = useApp();
  const { m } = app;
  const task = useTask();
  const [username, setUsername] = useState("");
  const [passphrase, setPassphrase] = useState("");

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const result = await task.run((progress) => app.vault.call({ type: "login", username: username.trim(), passphrase }, [], progress));
    if (result !== undefined) {
      setPassphrase("");
      app.setMe(result.identity);
      navigate({ name: "dossiers" });
    }
  };

  return (
    <section aria-labelledby="login-title">
      <Heading1>
        <span id="login-title">{m.t("login.title")}</span>
      </Heading1>
      {loggedOut ? <Alert type="ok">{m.t("login.loggedOut")}</Alert> : null}
      <p class="utrecht-paragraph">{m.t("login.intro")}</p>
      <form onSubmit={submit} class="kluis-form" noValidate>
        {task.error ? <Alert type="error">{task.error}</Alert> : null}
        <Field
          id="login-username"
          label={m.t("login.username")}
          input={{
            name: "username",
            type: "text",
            autocomplete: "username",
            autocapitalize: "none",
            spellcheck: false,
            required: true,
            value: username,
            onInput: (e) => setUsername(e.currentTarget.value),
          }}
        />
        <Field
          id="login-passphrase"
          label={m.t("login.passphrase")}
          input={{
            name: "password",
            type: "password",
            autocomplete: "current-password",
            required: true,
            value: passphrase,
            onInput: (e) => setPassphrase(e.currentTarget.value),
          }}
        />
        {task.busy ? <ProgressNote progress={task.progress} fallback={m.t("login.busy")} /> : null}
        <div class="utrecht-button-group">
          <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={task.busy} aria-disabled={task.busy ? "true" : undefined}>
            {m.t("login.submit")}
          </button>
        </div>
      </form>
      <p class="utrecht-paragraph">
        {m.t("login.forgot")}{" "}
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "recover" })}>
          {m.t("login.toRecover")}
        </a>
      </p>
      <p class="utrecht-paragraph">
        {m.t("login.noAccount")}{" "}
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "register" })}>
          {m.t("login.toRegister")}
        </a>
      </p>
    </section>
  );
}

export function RegisterScreen({ onRegistered }: { onRegistered: (words: string) => void }) {
  const app = useApp();
  const { m } = app;
  const task = useTask();
  const [username, setUsername] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [again, setAgain] = useState("");
  const [problem, setProblem] = useState<{ field: "passphrase" | "again"; text: string } | null>(null);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const name = username.trim();
    const verdict = await judgeNewPassphrase(passphrase, name);
    // A refused field gets the focus, so its message (tied to it) is read out at once.
    if (!verdict.accepted) {
      setProblem({ field: "passphrase", text: m.t(verdict.reason) });
      document.getElementById("register-passphrase")?.focus();
      return;
    }
    if (passphrase !== again) {
      setProblem({ field: "again", text: m.t("register.mismatch") });
      document.getElementById("register-again")?.focus();
      return;
    }
    setProblem(null);
    const result = await task.run((progress) => app.vault.call({ type: "register", username: name, passphrase }, [], progress));
    if (result !== undefined) {
      setPassphrase("");
      setAgain("");
      app.setMe(result.identity);
      onRegistered(result.recoveryWords);
    }
  };

  return (
    <section aria-labelledby="register-title">
      <Heading1>
        <span id="register-title">{m.t("register.title")}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("register.intro")}</p>
      <form onSubmit={submit} class="kluis-form" noValidate>
        {task.error ? <Alert type="error">{task.error}</Alert> : null}
        <Field
          id="register-username"
          label={m.t("register.username")}
          description={m.t("register.usernameHint")}
          input={{
            name: "username",
            type: "text",
            autocomplete: "username",
            autocapitalize: "none",
            spellcheck: false,
            required: true,
            value: username,
            onInput: (e) => setUsername(e.currentTarget.value),
          }}
        />
        <Field
          id="register-passphrase"
          label={m.t("register.passphrase")}
          description={m.t("register.passphraseHint")}
          error={problem?.field === "passphrase" ? problem.text : null}
          input={{
            name: "new-password",
            type: "password",
            autocomplete: "new-password",
            required: true,
            value: passphrase,
            onInput: (e) => setPassphrase(e.currentTarget.value),
          }}
        />
        <Field
          id="register-again"
          label={m.t("register.passphraseAgain")}
          error={problem?.field === "again" ? problem.text : null}
          input={{
            name: "new-password-again",
            type: "password",
            autocomplete: "new-password",
            required: true,
            value: again,
            onInput: (e) => setAgain(e.currentTarget.value),
          }}
        />
        {task.busy ? <ProgressNote progress={task.progress} fallback={m.t("register.busy")} /> : null}
        <div class="utrecht-button-group">
          <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={task.busy}>
            {m.t("register.submit")}
          </button>
        </div>
      </form>
      <p class="utrecht-paragraph">
        {m.t("register.haveAccount")}{" "}
        <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "login" })}>
          {m.t("register.toLogin")}
        </a>
      </p>
    </section>
  );
}

/** Two different word positions (1-24) to ask back. */
function twoPositions(): [number, number] {
  const r = crypto.getRandomValues(new Uint32Array(2));
  const first = ((r[0] as number) % 24) + 1;
  let second = ((r[1] as number) % 23) + 1;
  if (second >= first) second += 1;
  return first < second ? [first, second] : [second, first];
}

export function RecoveryScreen({ words, onDone }: { words: string; onDone: () => void }) {
  const { m } = useApp();
  const list = words.split(" ");
  const [step, setStep] = useState<"show" | "check">("show");
  const [positions] = useState(twoPositions);
  const [answers, setAnswers] = useState<[string, string]>(["", ""]);
  const [wrong, setWrong] = useState<[boolean, boolean]>([false, false]);

  if (step === "show") {
    return (
      <section aria-labelledby="recovery-title" class="kluis-recovery">
        <Heading1>
          <span id="recovery-title">{m.t("recovery.title")}</span>
        </Heading1>
        <p class="utrecht-paragraph">{m.t("recovery.intro")}</p>
        <Alert type="warning">
          <p class="utrecht-paragraph">
            <strong>{m.t("recovery.writeDown")}</strong> {m.t("recovery.once")}
          </p>
        </Alert>
        <ol class="kluis-words" aria-label={m.t("recovery.wordsLabel")} lang="en" data-testid="recovery-words">
          {list.map((word, i) => (
            <li key={i}>
              <span class="kluis-words__n" aria-hidden="true">
                {i + 1}.
              </span>{" "}
              <span class="kluis-words__w">{word}</span>
            </li>
          ))}
        </ol>
        <div class="utrecht-button-group kluis-no-print">
          <Button kind="secondary" onClick={() => print()}>
            {m.t("recovery.print")}
          </Button>
          <Button onClick={() => setStep("check")}>{m.t("recovery.written")}</Button>
        </div>
      </section>
    );
  }

  const submit = (event: Event): void => {
    event.preventDefault();
    const bad: [boolean, boolean] = [0, 1].map((i) => answers[i]?.trim().toLowerCase() !== list[(positions[i] as number) - 1]) as [boolean, boolean];
    setWrong(bad);
    if (!bad[0] && !bad[1]) onDone();
    else document.getElementById(`recovery-word-${bad[0] ? 0 : 1}`)?.focus();
  };

  return (
    <section aria-labelledby="recovery-check-title">
      <Heading1>
        <span id="recovery-check-title">{m.t("recovery.checkTitle")}</span>
      </Heading1>
      <p class="utrecht-paragraph">{m.t("recovery.checkIntro")}</p>
      <form onSubmit={submit} class="kluis-form" noValidate>
        {[0, 1].map((i) => (
          <Field
            key={i}
            id={`recovery-word-${i}`}
            label={m.t("recovery.wordN", { n: positions[i] as number })}
            error={wrong[i] ? m.t("recovery.checkWrong") : null}
            input={{
              type: "text",
              autocomplete: "off",
              autocapitalize: "none",
              spellcheck: false,
              lang: "en",
              value: answers[i],
              onInput: (e) => {
                const value = e.currentTarget.value;
                setAnswers((a) => (i === 0 ? [value, a[1]] : [a[0], value]));
              },
            }}
          />
        ))}
        <div class="utrecht-button-group">
          <button type="submit" class="utrecht-button utrecht-button--primary-action">
            {m.t("recovery.checkSubmit")}
          </button>
          <Button kind="secondary" onClick={() => setStep("show")}>
            {m.t("recovery.back")}
          </Button>
        </div>
      </form>
    </section>
  );
}
