/**
 * The pure parts of sharing under Node: the controlecode's QR code (written, drawn to pixels
 * and read back by the bundled decoder), a typed controlecode, the end date of a share, the
 * sentences of "Wie heeft toegang", and the routes of the sharing screens.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { Messages } from "../src/app/i18n.js";
import { contactQrText, decodeQrPixels, parseContactQr, qrModules } from "../src/app/qrcode.js";
import { hrefOf, parseRoute, type Route } from "../src/app/router.js";
import { accessText, endOfDay, shareUntil } from "../src/app/screens/share.js";
import { ClientError } from "../src/worker/errors.js";
import type { AccessRow } from "../src/worker/protocol.js";
import { typedFingerprint } from "../src/worker/sharing.js";

const CODE = "67452 41361 43586 87513 50172 36631 99730 56562 25034 05992 80626 00938";

/** The modules as RGBA pixels, `scale` pixels a module, the way a photo of a screen shows them. */
function pixels(modules: boolean[][], scale: number): { width: number; data: Uint8ClampedArray } {
  const width = modules.length * scale;
  const data = new Uint8ClampedArray(width * width * 4);
  for (let y = 0; y < width; y++) {
    for (let x = 0; x < width; x++) {
      const v = modules[Math.floor(y / scale)]?.[Math.floor(x / scale)] ? 0 : 255;
      data.set([v, v, v, 255], (y * width + x) * 4);
    }
  }
  return { width, data };
}

test("a controlecode's QR code reads back as the same username and code", () => {
  const text = contactQrText("wierda", CODE);
  assert.equal(text, `KLUIS-CONTROLECODE:wierda:${CODE.replaceAll(" ", "")}`);
  const { width, data } = pixels(qrModules(text), 4);
  const read = decodeQrPixels(width, width, data);
  assert.equal(read, text);
  assert.deepEqual(parseContactQr(read ?? ""), { username: "wierda", fingerprint: CODE });
});

test("a picture without a QR code reads as nothing; a QR code that is no controlecode is refused", () => {
  const blank = new Uint8ClampedArray(64 * 64 * 4).fill(255);
  assert.equal(decodeQrPixels(64, 64, blank), null);
  for (const other of [
    "https://example.org/",
    `KLUIS-CONTROLECODE:wierda:${"1".repeat(59)}`,
    `KLUIS-CONTROLECODE:wierda:${"1".repeat(61)}`,
    `KLUIS-CONTROLECODE:Wierda:${"1".repeat(60)}`,
    `KLUIS-CONTROLECODE:wierda:${"1".repeat(59)}a`,
    `kluis-controlecode:wierda:${"1".repeat(60)}`,
  ]) {
    assert.equal(parseContactQr(other), null, other);
  }
});

test("a typed controlecode is 60 digits with any spacing; anything else is the user's mistake", () => {
  assert.equal(typedFingerprint(CODE.replaceAll(" ", "")), CODE);
  assert.equal(typedFingerprint(`  ${CODE.replaceAll(" ", "\n")}  `), CODE);
  for (const wrong of ["", CODE.slice(0, -1), `${CODE}1`, CODE.replace("6", "x"), CODE.replace("6", "٦")]) {
    assert.throws(() => typedFingerprint(wrong), ClientError, JSON.stringify(wrong));
  }
});

test("a share ends at the last second of the chosen day, in the person's own time", () => {
  const end = new Date(endOfDay("2027-12-03") * 1000);
  assert.deepEqual([end.getFullYear(), end.getMonth(), end.getDate(), end.getHours(), end.getMinutes(), end.getSeconds()], [2027, 11, 3, 23, 59, 59]);
  assert.equal(endOfDay("2027-12-04") - endOfDay("2027-12-03"), 86400);
});

test("who has access, in words: the whole dossier or one document, until when, and an old key", () => {
  const m = new Messages("nl");
  const at = endOfDay("2027-12-03");
  assert.equal(shareUntil(m, 0, false), "zonder einddatum");
  assert.equal(shareUntil(m, at, false), "tot en met 3 december 2027");
  assert.equal(shareUntil(m, at, true), "verlopen op 3 december 2027");
  const row: AccessRow = {
    recipientId: "a".repeat(32),
    name: "wierda",
    person: true,
    verified: false,
    dossier: { rights: "write", expiresAt: 0, expired: false, currentKey: false },
    documents: [{ documentId: "b".repeat(32), name: "offerte.pdf", versions: [1, 2], expiresAt: at, expired: false }],
    since: 0,
  };
  assert.deepEqual(accessText(m, row), [
    "kan het hele dossier lezen en documenten toevoegen, zonder einddatum (heeft alleen de oude sleutel: ziet geen nieuwe documenten)",
    "kan offerte.pdf lezen, tot en met 3 december 2027",
  ]);
  assert.deepEqual(accessText(new Messages("en"), { ...row, dossier: { rights: "read", expiresAt: 0, expired: false, currentKey: true }, documents: [] }), ["can read the whole dossier, no end date"]);
});

test("the sharing screens' addresses go both ways, and a malformed one is no sharing screen", () => {
  const id = "0123456789abcdef0123456789abcdef";
  const doc = "fedcba9876543210fedcba9876543210";
  const routes: Route[] = [
    { name: "share", dossierId: id, documentId: null },
    { name: "share", dossierId: id, documentId: doc },
    { name: "shared" },
    { name: "contacts", username: null },
    { name: "contacts", username: "bouwbedrijf-wierda.2" },
  ];
  for (const route of routes) assert.deepEqual(parseRoute(hrefOf(route)), route);
  assert.equal(hrefOf({ name: "share", dossierId: id, documentId: null }), `#/dossiers/${id}/delen`);
  assert.equal(hrefOf({ name: "shared" }), "#/gedeeld-met-mij");
  for (const wrong of [`#/dossiers/${id.toUpperCase()}/delen`, "#/contacten/Wierda", "#/contacten/-x", `#/contacten/${"a".repeat(65)}`]) {
    assert.equal(parseRoute(wrong).name, "dossiers", wrong);
  }
});
