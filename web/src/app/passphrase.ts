/**
 * The passphrase rule (docs/format.md section 18) where a passphrase is chosen (register; later
 * also a new passphrase and recovery), so the page can say why one is refused. The worker
 * applies the same rule again before anything is derived or sent.
 */

import { judgePassphrase, loadCommonPasswords, type PassphraseReason } from "../vault/passphrase.js";
import type { MessageKey } from "./i18n.js";

export type PassphraseVerdict = { accepted: true } | { accepted: false; reason: MessageKey };

const MESSAGES: Record<PassphraseReason, MessageKey> = {
  not_text: "register.weak.not_text",
  too_short: "register.weak.too_short",
  too_long: "register.weak.too_long",
  common: "register.weak.common",
  predictable: "register.weak.predictable",
};

/** The rule's verdict; the common-password list is loaded from this site on first use. */
export async function judgeNewPassphrase(passphrase: string, username: string): Promise<PassphraseVerdict> {
  if (passphrase.length === 0) return { accepted: false, reason: "register.empty" };
  const verdict = judgePassphrase(passphrase, [username], await loadCommonPasswords());
  return verdict.accepted || verdict.reason === null ? { accepted: true } : { accepted: false, reason: MESSAGES[verdict.reason] };
}
