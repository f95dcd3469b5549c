/**
 * Writers the vectors cannot rebuild byte for byte on their own: a membership (its sealed box
 * has a random ephemeral key) opens as the vector's member; a receipt rebuilt from the vector's
 * fields is the vector's receipt (Ed25519 is deterministic).
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { ready } from "../src/vault/crypto.js";
import { decodeIdentity, privateIdentityFromKeys } from "../src/vault/keys.js";
import { epochKeys, openMembership, ROLE_ADMIN, sealMembership, verifyChain, verifyRoster } from "../src/vault/organisation.js";
import { decodeReceipt, sealReceipt, verifyReceipt } from "../src/vault/receipt.js";

import { h, hex, loadVector } from "./helpers.js";

await ready();

const alice = loadVector("identity-alice.json");
const membership = loadVector("membership-success.json");
const receipt = loadVector("receipt-success.json");

async function chainAndOrg() {
  const authors = await Promise.all((membership.author_identities as string[]).map((x) => decodeIdentity(h(x))));
  const chain = await verifyChain((membership.records as string[]).map(h), {
    authorOf: (id) => authors.find((a) => hex(a.userId) === hex(id)) ?? Promise.reject(new Error("unknown")),
  });
  const record = epochKeys(chain, 2);
  const org = await privateIdentityFromKeys(record.identity.userId, record.identity.username, 2, h(membership.org_private_keys));
  return { chain, record, org };
}

test("a membership Alice writes opens as its member, with the epoch's keys and the role", async () => {
  const { chain, record, org } = await chainAndOrg();
  const admin = await privateIdentityFromKeys(h(alice.user_id), alice.username, alice.key_version, h(alice.private_keys));
  const m = membership.member;
  const bob = await privateIdentityFromKeys(h(m.user_id), m.username, m.key_version, h(m.private_keys));
  const written = sealMembership(admin, org, bob.public, ROLE_ADMIN, 1717171717n);
  const opened = await openMembership(written, record, bob, admin.public);
  assert.equal(opened.membership.role, ROLE_ADMIN);
  assert.equal(hex(opened.org.public.encoded), hex(record.identity.encoded));
  // Alice (epoch 2's author) made Bob an admin of epoch 2.
  const roster = await verifyRoster(chain, [written], async () => admin.public);
  assert.ok(roster.admins[1]?.has(hex(bob.public.userId)));
});

test("a receipt rebuilt from the vector's fields is the vector's receipt", async () => {
  const { chain, org } = await chainAndOrg();
  const decoded = decodeReceipt(h(receipt.receipt));
  const rebuilt = sealReceipt(org, chain, { userId: decoded.memberId, keyId: decoded.memberKeyId }, {
    dossierId: decoded.dossierId,
    openedAt: decoded.openedAt,
    entries: [...decoded.entries].reverse(), // the writer sorts
    receiptId: decoded.receiptId,
  });
  assert.equal(hex(rebuilt), receipt.receipt);
  assert.equal(verifyReceipt(rebuilt, h(receipt.dossier_id), chain).epoch, 2);
});
