/**
 * The message catalogues (../i18n/nl.json, en.json): Dutch first, English second, one key per
 * sentence, `{name}` placeholders. Dates, times, numbers and plurals come from Intl in the
 * chosen language. The choice is remembered in localStorage (a preference, not a secret).
 *
 * The Dutch words follow the project's woordenlijst (wachtwoordzin, herstelcode, logboek,
 * controlecode, ...): one word per concept, everywhere.
 */

import en from "../i18n/en.json";
import nl from "../i18n/nl.json";

export type Lang = "nl" | "en";
export type MessageKey = keyof typeof nl;

const CATALOGUES: Record<Lang, Record<MessageKey, string>> = { nl, en };
const LOCALES: Record<Lang, string> = { nl: "nl-NL", en: "en-GB" };
const STORAGE_KEY = "kluis.taal";

export function storedLang(): Lang {
  try {
    const value = globalThis.localStorage?.getItem(STORAGE_KEY);
    return value === "en" ? "en" : "nl";
  } catch {
    return "nl";
  }
}

export function storeLang(lang: Lang): void {
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, lang);
  } catch {
    // private mode: the choice lasts this visit only
  }
}

export type Params = Record<string, string | number>;

export class Messages {
  private readonly plural: Intl.PluralRules;
  private readonly number: Intl.NumberFormat;

  constructor(readonly lang: Lang) {
    this.plural = new Intl.PluralRules(LOCALES[lang]);
    this.number = new Intl.NumberFormat(LOCALES[lang], { maximumFractionDigits: 1 });
  }

  get locale(): string {
    return LOCALES[this.lang];
  }

  t(key: MessageKey, params: Params = {}): string {
    const text = CATALOGUES[this.lang][key] ?? CATALOGUES.nl[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
  }

  /** A key with `.one` / `.other` forms, chosen by Intl.PluralRules. */
  plural_(base: "dossiers.documents" | "dossier.added", count: number): string {
    const form = this.plural.select(count) === "one" ? "one" : "other";
    return this.t(`${base}.${form}` as MessageKey, { count: this.number.format(count) });
  }

  /** "3 december" (this year) or "3 december 2025". */
  date(unixSeconds: number): string {
    const d = new Date(unixSeconds * 1000);
    const sameYear = d.getFullYear() === new Date().getFullYear();
    return new Intl.DateTimeFormat(this.locale, { day: "numeric", month: "long", ...(sameYear ? {} : { year: "numeric" }) }).format(d);
  }

  /** "3 december 2026" always (for lists where the year matters). */
  fullDate(unixSeconds: number): string {
    return new Intl.DateTimeFormat(this.locale, { day: "numeric", month: "long", year: "numeric" }).format(new Date(unixSeconds * 1000));
  }

  /** "14:02". */
  time(unixSeconds: number): string {
    return new Intl.DateTimeFormat(this.locale, { hour: "2-digit", minute: "2-digit", hour12: false }).format(new Date(unixSeconds * 1000));
  }

  /** "10.000": a count, grouped as the language writes it. */
  count(n: number): string {
    return this.number.format(n);
  }

  /** "1,2 MB": decimal units, as a resident's computer shows them. */
  size(bytes: number): string {
    if (bytes < 1000) return this.t("size.bytes", { n: this.number.format(bytes) });
    if (bytes < 1e6) return this.t("size.kb", { n: this.number.format(bytes / 1e3) });
    if (bytes < 1e9) return this.t("size.mb", { n: this.number.format(bytes / 1e6) });
    return this.t("size.gb", { n: this.number.format(bytes / 1e9) });
  }

  percent(done: number, total: number): number {
    return total > 0 ? Math.min(100, Math.floor((100 * done) / total)) : 0;
  }
}
