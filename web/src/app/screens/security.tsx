/**
 * "Veiligheidscontrole mislukt": the full page every SecurityError ends on (never a toast).
 * It says what failed in plain words, that nothing was opened or saved, and what to do; the
 * technical message is there for the administrator, folded away.
 */

import type { Failure } from "../context.js";
import { useApp } from "../context.js";
import { Button, Heading1 } from "../ui.js";

export function SecurityScreen({ failure, onBack }: { failure: Failure; onBack: () => void }) {
  const app = useApp();
  const { m } = app;
  return (
    <section aria-labelledby="security-title" class="kluis-security" data-testid="security-failure" data-check={failure.check}>
      <div class="utrecht-spotlight-section utrecht-spotlight-section--error">
        <Heading1>
          <span id="security-title">{m.t("security.title")}</span>
        </Heading1>
        <p class="utrecht-paragraph utrecht-paragraph--lead">{m.t("security.lead")}</p>
      </div>
      <h2 class="utrecht-heading-2">{m.t("security.whatFailed")}</h2>
      <p class="utrecht-paragraph" data-testid="security-what">
        {m.t(`security.check.${failure.check}`)}
      </p>
      <h2 class="utrecht-heading-2">{m.t("security.whatToDo")}</h2>
      <p class="utrecht-paragraph">
        <strong>{m.t("security.advice")}</strong>
      </p>
      <p class="utrecht-paragraph">{m.t("security.tell", { time: `${m.date(failure.at)}, ${m.time(failure.at)}` })}</p>
      <details class="kluis-details">
        <summary>{m.t("security.details")}</summary>
        <p class="utrecht-paragraph" lang="en">
          <code class="utrecht-code">{failure.detail}</code>
        </p>
      </details>
      <div class="utrecht-button-group">
        <Button kind="secondary" onClick={onBack}>
          {m.t("security.back")}
        </Button>
        <Button onClick={() => void app.logout()}>{m.t("security.logout")}</Button>
      </div>
    </section>
  );
}
