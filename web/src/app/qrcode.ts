/**
 * The controlecode as a QR code, and back (docs/client.md section 19, "Contacts"): the code
 * carries only public facts, a username and its 60-digit fingerprint, as
 * `KLUIS-CONTROLECODE:<username>:<60 digits>`. Scanning it is a way of typing the digits: the
 * worker compares them with the keys the server shows, exactly as typed ones (section 3).
 * Encoder and decoder: the `qr` package (no dependencies), bundled.
 */

import encodeQR from "qr";
import decodeQR from "qr/decode.js";

const PREFIX = "KLUIS-CONTROLECODE:";
const TEXT = /^KLUIS-CONTROLECODE:([a-z0-9][a-z0-9._-]{0,63}):([0-9]{60})$/;

export interface ScannedCode {
  username: string;
  /** The display form: 12 groups of 5 digits. */
  fingerprint: string;
}

export function contactQrText(username: string, fingerprint: string): string {
  return `${PREFIX}${username}:${fingerprint.replace(/\s+/g, "")}`;
}

/** A scanned text, or null when it is not a Kluis controlecode. */
export function parseContactQr(text: string): ScannedCode | null {
  const m = TEXT.exec(text.trim());
  if (m === null) return null;
  return { username: m[1] as string, fingerprint: (m[2] as string).match(/.{5}/g)?.join(" ") ?? "" };
}

/** The QR code's dark modules, row by row, with the quiet zone of 4 modules a scanner needs. */
export function qrModules(text: string): boolean[][] {
  return encodeQR(text, "raw", { ecc: "medium", border: 4 });
}

/** Decode one picture (RGBA pixels); null when it holds no readable QR code. */
export function decodeQrPixels(width: number, height: number, data: Uint8ClampedArray | Uint8Array): string | null {
  try {
    return decodeQR({ width, height, data });
  } catch {
    return null;
  }
}
