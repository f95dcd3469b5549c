/**
 * The page's pure parts under Node: the two message catalogues hold the same sentences with the
 * same placeholders, Dutch is the default, dates and sizes come out the Dutch way, the access
 * log reads as sentences, and the router maps every Dutch path both ways.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { Messages, storedLang } from "../src/app/i18n.js";
import { hrefOf, parseRoute, type Route } from "../src/app/router.js";
import { matching } from "../src/app/screens/dossier.js";
import { logSentence } from "../src/app/screens/log.js";
import type { DocumentSummary } from "../src/worker/protocol.js";
import en from "../src/i18n/en.json";
import nl from "../src/i18n/nl.json";

const placeholders = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).sort();

test("the Dutch and English catalogues have the same keys and placeholders", () => {
  assert.deepEqual(Object.keys(en).sort(), Object.keys(nl).sort());
  for (const [key, text] of Object.entries(nl)) {
    assert.deepEqual(placeholders((en as Record<string, string>)[key] as string), placeholders(text), key);
    assert.ok(text.trim().length > 0, `${key} is empty`);
  }
});

test("the interface uses the woordenlijst's words, not their synonyms", () => {
  const all = Object.values(nl).join("\n").toLowerCase();
  for (const word of ["wachtwoordzin", "herstelcode", "logboek", "inloggen", "uitloggen", "veiligheidscontrole mislukt", "beheerder"]) {
    assert.ok(all.includes(word), word);
  }
  // "wachtwoord" alone (not part of "wachtwoordzin") and "vingerafdruk" are not our words.
  assert.doesNotMatch(all, /wachtwoord(?!zin)/);
  assert.doesNotMatch(all, /vingerafdruk/);
});

test("Dutch is the default; dates, times, sizes and plurals the Dutch way", () => {
  assert.equal(storedLang(), "nl"); // no localStorage under Node
  const m = new Messages("nl");
  const at = Date.UTC(2026, 11, 3, 13, 2) / 1000;
  assert.equal(m.fullDate(at), "3 december 2026");
  assert.match(m.time(at), /^\d\d:02$/);
  assert.equal(m.size(1_048_576), "1 MB");
  assert.equal(m.size(2900), "2,9 kB");
  assert.equal(m.size(512), "512 bytes");
  assert.equal(m.plural_("dossiers.documents", 1), "1 document");
  assert.equal(m.plural_("dossiers.documents", 3), "3 documenten");
  assert.equal(m.plural_("dossiers.documents", 1200), "1.200 documenten");
  assert.equal(new Messages("en").plural_("dossiers.documents", 2), "2 documents");
});

test("an access-log entry reads as a sentence", () => {
  const m = new Messages("nl");
  const at = Math.floor(Date.UTC(new Date().getFullYear(), 11, 3, 13, 2) / 1000);
  const base = { seq: 1, at, actorIsMe: false, documentId: "ab".repeat(16), version: 1, subject: null };
  const opened = logSentence(m, { ...base, actor: "wierda", action: "download", documentName: "schaderapport.pdf" });
  assert.match(opened, /^wierda opende schaderapport\.pdf op 3 december om \d\d:02$/);
  assert.match(logSentence(m, { ...base, actor: "anna", actorIsMe: true, action: "upload", documentName: "foto.jpg", version: 2 }), /^U voegde versie 2 van foto\.jpg toe op 3 december/);
  assert.match(logSentence(m, { ...base, actor: "anna", action: "share", documentId: null, documentName: null, subject: "bouwbedrijf-wierda" }), /^anna deelde het dossier met bouwbedrijf-wierda op/);
  assert.match(logSentence(m, { ...base, actor: "anna", action: "download", documentName: null }), /^anna opende een document op/);
});

test("the router maps every Dutch path both ways; anything else is the dossier list", () => {
  const id = "0123456789abcdef0123456789abcdef";
  const doc = "fedcba9876543210fedcba9876543210";
  const routes: Route[] = [
    { name: "login" },
    { name: "register" },
    { name: "dossiers" },
    { name: "dossier", dossierId: id },
    { name: "log", dossierId: id },
    { name: "versions", dossierId: id, documentId: doc },
  ];
  for (const route of routes) assert.deepEqual(parseRoute(hrefOf(route)), route);
  assert.equal(hrefOf({ name: "register" }), "#/account-aanmaken");
  assert.deepEqual(parseRoute("#/dossiers/not-an-id"), { name: "dossiers" });
  assert.deepEqual(parseRoute(""), { name: "dossiers" });
});

test("a dossier's search finds a document by name or title, case and accents aside, and keeps the order", () => {
  const doc = (name: string, title: string) => ({ name, title }) as DocumentSummary;
  const all = [doc("scheur-gevel.jpg", "Scheur boven de voordeur"), doc("rapport.pdf", "Schaderapport Café Loppersum"), doc("offerte.pdf", "")];
  assert.deepEqual(matching(all, "  ").map((d) => d.name), ["scheur-gevel.jpg", "rapport.pdf", "offerte.pdf"]);
  assert.deepEqual(matching(all, "SCHEUR").map((d) => d.name), ["scheur-gevel.jpg"]);
  assert.deepEqual(matching(all, "cafe").map((d) => d.name), ["rapport.pdf"]);
  assert.deepEqual(matching(all, "pdf").map((d) => d.name), ["rapport.pdf", "offerte.pdf"]);
  assert.deepEqual(matching(all, "dak"), []);
});
