/**
 * The hook for the passphrase rule when a passphrase is chosen (register; later also a new
 * passphrase and recovery).
 *
 * The rule itself is being written elsewhere (vault/passphrase.py, docs/format.md "Passphrase
 * rule", vectors tests/vectors/passphrase-*.json): when it lands, implement it in
 * web/src/vault/passphrase.ts against those vectors, call it here, and map each of its reason
 * codes to a sentence in ../i18n/*.json ("register.weak.<reason>"). Until then only an empty
 * passphrase is refused here; the worker refuses it too.
 */

import type { MessageKey } from "./i18n.js";

export type PassphraseVerdict = { accepted: true } | { accepted: false; reason: MessageKey };

export function judgeNewPassphrase(passphrase: string, _username: string): PassphraseVerdict {
  if (passphrase.length === 0) return { accepted: false, reason: "register.empty" };
  return { accepted: true };
}
