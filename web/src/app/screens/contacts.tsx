/**
 * "Contacten": a person's controlecode as number groups and as a QR code, and verifying it by
 * typing the digits the other person reads out or by scanning their QR code (the camera, with
 * BarcodeDetector where the browser has it and the bundled decoder otherwise, or a photo).
 * Either way the worker compares the digits with the keys the server shows (docs/client.md
 * section 3); a match pins them as verified, which also ends the block on a changed key.
 */

import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

import { ClientError } from "../../worker/errors.js";
import type { ContactInfo } from "../../worker/protocol.js";
import { useApp, useTask } from "../context.js";
import { contactQrText, decodeQrPixels, parseContactQr, qrModules } from "../qrcode.js";
import { hrefOf, navigate } from "../router.js";
import { Alert, Button, Field, Heading1, ProgressNote } from "../ui.js";

/** The controlecode as 12 groups of 5 digits, each group kept whole when lines wrap. */
export function CodeGroups({ code }: { code: string }) {
  return (
    <p class="utrecht-paragraph kluis-code" data-testid="controlecode">
      {code.split(" ").map((group, i) => (
        <Fragment key={i}>
          {i > 0 ? " " : ""}
          <span class="kluis-code__group">{group}</span>
        </Fragment>
      ))}
    </p>
  );
}

/** The QR code as SVG (one path; no inline style, which the page's CSP forbids). */
export function ContactQr({ username, fingerprint, label }: { username: string; fingerprint: string; label: string }) {
  const modules = qrModules(contactQrText(username, fingerprint));
  const size = modules.length;
  const path = modules.flatMap((row, y) => row.map((dark, x) => (dark ? `M${x} ${y}h1v1h-1z` : ""))).join("");
  return (
    <svg class="kluis-qr" role="img" aria-label={label} viewBox={`0 0 ${size} ${size}`} width="240" height="240" data-testid="contact-qr">
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}

interface Detector {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}

/** BarcodeDetector for QR codes where the browser has it (Chromium on Android and macOS). */
function barcodeDetector(): Detector | null {
  const ctor = (globalThis as { BarcodeDetector?: new (o: { formats: string[] }) => Detector }).BarcodeDetector;
  return ctor === undefined ? null : new ctor({ formats: ["qr_code"] });
}

/** The text of a QR code in a picture or a video frame, or null. */
async function readQr(source: ImageBitmap | HTMLVideoElement, width: number, height: number): Promise<string | null> {
  const detector = barcodeDetector();
  if (detector !== null) {
    try {
      const found = await detector.detect(source);
      if (found[0] !== undefined) return found[0].rawValue;
    } catch {
      // not usable on this platform: the bundled decoder reads it instead
    }
  }
  if (width === 0 || height === 0) return null;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d");
  if (context === null) return null;
  context.drawImage(source, 0, 0, width, height);
  return decodeQrPixels(width, height, context.getImageData(0, 0, width, height).data);
}

function Verify({ contact, onVerified }: { contact: ContactInfo; onVerified: (c: ContactInfo) => void }) {
  const app = useApp();
  const { m } = app;
  const verify = useTask();
  const [typed, setTyped] = useState("");
  const [typedError, setTypedError] = useState<string | null>(null);
  const [scanError, setScanError] = useState<string | null>(null);
  const [scanning, setScanning] = useState(false);
  const video = useRef<HTMLVideoElement>(null);
  const stream = useRef<MediaStream | null>(null);
  const name = contact.username;

  const stop = (): void => {
    for (const track of stream.current?.getTracks() ?? []) track.stop();
    stream.current = null;
    setScanning(false);
  };
  useEffect(() => stop, []);

  const check = async (fingerprint: string): Promise<void> => {
    const r = await verify.run(
      () => app.vault.call({ type: "verifyContact", username: name, fingerprint }),
      "",
      (e) => (e instanceof ClientError && e.message.startsWith("a fingerprint") ? m.t("contacts.typeWrong") : null),
    );
    if (r) onVerified(r.contact);
  };

  const scanned = async (text: string | null): Promise<void> => {
    const code = text === null ? null : parseContactQr(text);
    if (code === null || code.username !== name) {
      setScanError(m.t("contacts.scanNone"));
      return;
    }
    setScanError(null);
    await check(code.fingerprint);
  };

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (typed.trim() === "") {
      setTypedError(m.t("contacts.typeEmpty"));
      document.getElementById("contact-code")?.focus();
      return;
    }
    if (!/^[0-9]{60}$/.test(typed.replace(/\s+/g, ""))) {
      setTypedError(m.t("contacts.typeWrong"));
      document.getElementById("contact-code")?.focus();
      return;
    }
    setTypedError(null);
    await check(typed);
  };

  const camera = async (): Promise<void> => {
    setScanError(null);
    try {
      stream.current = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch {
      setScanError(m.t("contacts.noCamera"));
      return;
    }
    setScanning(true);
    const v = video.current;
    if (v === null) return stop();
    v.srcObject = stream.current;
    await v.play().catch(() => undefined);
    while (stream.current !== null) {
      const text = await readQr(v, v.videoWidth, v.videoHeight);
      const code = text === null ? null : parseContactQr(text);
      if (code !== null && code.username === name) {
        stop();
        await check(code.fingerprint);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  const photo = async (file: File): Promise<void> => {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      setScanError(m.t("contacts.scanNone"));
      return;
    }
    await scanned(await readQr(bitmap, bitmap.width, bitmap.height));
    bitmap.close();
  };

  return (
    <>
      <form onSubmit={submit} class="kluis-form" noValidate>
        {verify.error ? <Alert type="error">{verify.error}</Alert> : null}
        <Field
          id="contact-code"
          label={m.t("contacts.typeCode", { name })}
          description={m.t("contacts.typeHint")}
          error={typedError}
          input={{ type: "text", inputMode: "numeric", autocomplete: "off", value: typed, onInput: (e) => setTyped(e.currentTarget.value) }}
        />
        {verify.busy ? <ProgressNote progress={null} fallback={m.t("contacts.loading")} /> : null}
        <div class="utrecht-button-group">
          <button type="submit" class="utrecht-button utrecht-button--primary-action" disabled={verify.busy}>
            {m.t("contacts.check")}
          </button>
        </div>
      </form>
      <h2 class="utrecht-heading-2">{m.t("contacts.scan")}</h2>
      <p class="utrecht-paragraph">{m.t("contacts.scanHint", { name })}</p>
      {scanError ? <Alert type="error">{scanError}</Alert> : null}
      <video ref={video} class="kluis-scan" hidden={!scanning} muted playsInline aria-hidden="true" />
      <div class="utrecht-button-group">
        {scanning ? (
          <Button kind="secondary" onClick={stop}>
            {m.t("contacts.scanStop")}
          </Button>
        ) : (
          <Button kind="secondary" onClick={() => void camera()} disabled={verify.busy}>
            {m.t("contacts.scan")}
          </Button>
        )}
        <label class="utrecht-button utrecht-button--secondary-action kluis-file-button">
          {m.t("contacts.scanImage")}
          <input
            type="file"
            accept="image/*"
            class="kluis-visually-hidden"
            data-testid="qr-image"
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              e.currentTarget.value = "";
              if (file) void photo(file);
            }}
          />
        </label>
      </div>
    </>
  );
}

export function ContactsScreen({ username }: { username: string | null }) {
  const app = useApp();
  const { m } = app;
  const load = useTask();
  const [name, setName] = useState(username ?? "");
  const [contact, setContact] = useState<ContactInfo | null>(null);
  const [done, setDone] = useState(false);

  useEffect(() => {
    if (username !== null) void load.run(() => app.vault.call({ type: "contact", username })).then((r) => r && setContact(r.contact));
  }, [username]);

  const me = app.me;
  return (
    <section aria-labelledby="contacts-title">
      <Heading1>
        <span id="contacts-title">{username === null ? m.t("contacts.title") : m.t("contacts.code", { name: username })}</span>
      </Heading1>
      {username === null ? (
        <>
          <p class="utrecht-paragraph">{m.t("contacts.intro")}</p>
          <form
            class="kluis-form"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              if (name.trim() !== "") navigate({ name: "contacts", username: name.trim() });
            }}
          >
            <Field id="contact-username" label={m.t("contacts.username")} input={{ type: "text", autocomplete: "off", autocapitalize: "none", spellcheck: false, value: name, onInput: (e) => setName(e.currentTarget.value) }} />
            <div class="utrecht-button-group">
              <button type="submit" class="utrecht-button utrecht-button--primary-action">
                {m.t("contacts.find")}
              </button>
            </div>
          </form>
          {me !== null ? (
            <>
              <h2 class="utrecht-heading-2">{m.t("contacts.myCode")}</h2>
              <p class="utrecht-paragraph">{m.t("contacts.myCodeHint")}</p>
              <CodeGroups code={me.fingerprint} />
              <ContactQr username={me.username} fingerprint={me.fingerprint} label={m.t("contacts.qr", { name: me.username })} />
            </>
          ) : null}
        </>
      ) : (
        <>
          <p class="utrecht-paragraph kluis-back">
            <a class="utrecht-link utrecht-link--html-a" href={hrefOf({ name: "contacts", username: null })}>
              {m.t("contacts.title")}
            </a>
          </p>
          {load.error ? <Alert type="error">{load.error}</Alert> : null}
          {load.busy ? <ProgressNote progress={null} fallback={m.t("contacts.loading")} /> : null}
          {contact !== null ? (
            <>
              <div aria-live="polite" class="kluis-live">
                {done ? <Alert type="ok">{m.t("contacts.done", { name: contact.username })}</Alert> : null}
              </div>
              {contact.state === "changed" ? (
                <Alert type="error">{m.t("contacts.changed", { name: contact.username })}</Alert>
              ) : !done ? (
                <Alert type={contact.state === "verified" || contact.state === "me" ? "ok" : "warning"}>
                  {contact.state === "verified" || contact.state === "me" ? m.t("contacts.verified", { name: contact.username }) : m.t("contacts.unverified", { name: contact.username })}
                </Alert>
              ) : null}
              <p class="utrecht-paragraph">{m.t("contacts.codeHint", { name: contact.username })}</p>
              <CodeGroups code={contact.fingerprint} />
              <ContactQr username={contact.username} fingerprint={contact.fingerprint} label={m.t("contacts.qr", { name: contact.username })} />
              {contact.state !== "me" && contact.state !== "verified" ? (
                <Verify
                  contact={contact}
                  onVerified={(c) => {
                    setContact(c);
                    setDone(true);
                  }}
                />
              ) : null}
            </>
          ) : null}
        </>
      )}
    </section>
  );
}
