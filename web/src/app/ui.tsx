/**
 * Small building blocks on NL Design System (Utrecht) CSS classes: native elements only
 * (buttons are <button>, links are <a>), every field with a <label>, errors tied to their
 * field with aria-describedby, and a heading that takes focus when a screen opens, so a screen
 * reader hears where it is after every change of screen.
 */

import type { ButtonHTMLAttributes, ComponentChildren, PartialInputHTMLAttributes } from "preact";
import { useEffect, useRef } from "preact/hooks";

import type { TransferProgress } from "../worker/protocol.js";
import { useApp } from "./context.js";

export function Heading1({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <h1 class="utrecht-heading-1 kluis-screen-heading" tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

export function Alert({ type, children, id }: { type: "error" | "ok" | "info" | "warning"; children: ComponentChildren; id?: string }) {
  // Errors interrupt (role=alert); the rest is announced politely.
  return (
    <div class={`utrecht-alert utrecht-alert--${type}`} role={type === "error" ? "alert" : "status"} id={id}>
      <div class="utrecht-alert__content">
        <div class="utrecht-alert__message">{children}</div>
      </div>
    </div>
  );
}

interface FieldProps {
  id: string;
  label: string;
  description?: string;
  error?: string | null;
  input: Omit<PartialInputHTMLAttributes<HTMLInputElement>, "id" | "role">;
}

export function Field({ id, label, description, error, input }: FieldProps) {
  const describedBy = [description ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`utrecht-form-field utrecht-form-field--text${error ? " utrecht-form-field--invalid" : ""}`}>
      <div class="utrecht-form-field__label">
        <label class="utrecht-form-label" for={id}>
          {label}
        </label>
      </div>
      {description ? (
        <div class="utrecht-form-field__description utrecht-form-field-description" id={`${id}-hint`}>
          {description}
        </div>
      ) : null}
      {error ? (
        <div class="utrecht-form-field__error-message utrecht-form-field-error-message" id={`${id}-error`}>
          {error}
        </div>
      ) : null}
      <div class="utrecht-form-field__input">
        <input
          id={id}
          class={`utrecht-textbox utrecht-textbox--html-input${error ? " utrecht-textbox--invalid" : ""}`}
          aria-invalid={error ? "true" : undefined}
          aria-describedby={describedBy}
          {...(input as object)}
        />
      </div>
    </div>
  );
}

export function Button({
  kind = "primary",
  children,
  ...rest
}: { kind?: "primary" | "secondary" | "subtle"; children: ComponentChildren } & Omit<ButtonHTMLAttributes<HTMLButtonElement>, "type">) {
  return (
    <button class={`utrecht-button utrecht-button--${kind === "primary" ? "primary-action" : kind === "secondary" ? "secondary-action" : "subtle"}`} type="button" {...rest}>
      {children}
    </button>
  );
}

/** What a long call is doing, for sighted users (a bar) and screen readers (the text). */
export function ProgressNote({ progress, fallback }: { progress: TransferProgress | null; fallback: string }) {
  const { m } = useApp();
  let text = fallback;
  let value: number | undefined;
  if (progress !== null) {
    const file = progress.file ?? "";
    const percent = m.percent(progress.done, progress.total);
    switch (progress.phase) {
      case "prelogin":
      case "kdf":
      case "login":
        text = m.t(`progress.${progress.phase}`);
        break;
      case "upload":
      case "download":
        text = m.t(`progress.${progress.phase}`, { file, percent });
        value = percent;
        break;
      default:
        text = m.t(`progress.${progress.phase}`, { file });
    }
    if (progress.count !== undefined && progress.count > 1 && progress.index !== undefined) {
      text = `${m.t("progress.fileOf", { index: progress.index + 1, count: progress.count })}. ${text}`;
    }
  }
  return (
    <div class="kluis-progress" role="status">
      {value === undefined ? <progress aria-hidden="true" /> : <progress max={100} value={value} aria-hidden="true" />}
      <p class="utrecht-paragraph">{text}</p>
    </div>
  );
}
