/**
 * What the browser writes for organisations and the export, read back by the readers the
 * vectors test: a chain made with `newOrganisation` and `nextEpoch` verifies (and fails where
 * a byte or a signer is wrong), the memberships an admin seals make the roster, and the export's
 * file names follow client_sdk/export.py `export_name`.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { fromHex } from "../src/vault/bytes.js";
import { randomBytes, ready } from "../src/vault/crypto.js";
import { KeyMismatchError, SignatureError } from "../src/vault/errors.js";
import { privateIdentityFromKeys, type Identity } from "../src/vault/keys.js";
import { KIND_INSTITUTION, newOrganisation, nextEpoch, ROLE_ADMIN, ROLE_MEMBER, sealMembership, verifyChain, verifyRoster } from "../src/vault/organisation.js";
import { exportName } from "../src/worker/export.js";

import { h, hex, loadVector } from "./helpers.js";

await ready();

const v = loadVector("identity-alice.json");
const alice = await privateIdentityFromKeys(h(v.user_id), v.username, v.key_version, h(v.private_keys));
const bob = await privateIdentityFromKeys(randomBytes(16), "bob", 1, randomBytes(96));
const known = (...ids: Identity[]) => (id: Uint8Array) => ids.find((i) => hex(i.userId) === hex(id)) ?? Promise.reject(new KeyMismatchError("unknown author"));

test("a chain the browser writes verifies: epoch 1, then epoch 2 signed by its author and by epoch 1", async () => {
  const orgId = fromHex("00112233445566778899aabbccddeeff");
  const first = await newOrganisation(alice, { orgId, name: "img", kind: KIND_INSTITUTION, createdAt: 1_765_000_000n });
  const second = await nextEpoch(alice, first.org, KIND_INSTITUTION, 1_765_000_100n);
  const chain = await verifyChain([first.record, second.record], { authorOf: known(alice.public), orgId, name: "img" });
  assert.equal(chain.epoch, 2);
  assert.equal(chain.kind, KIND_INSTITUTION);
  assert.equal(hex(chain.current.identity.keyId), hex(second.org.public.keyId));
  const memberships = [
    sealMembership(alice, first.org, alice.public, ROLE_ADMIN, 1n),
    sealMembership(alice, first.org, bob.public, ROLE_MEMBER, 2n),
    sealMembership(alice, second.org, alice.public, ROLE_ADMIN, 3n),
  ];
  const roster = await verifyRoster(chain, memberships, known(alice.public, bob.public));
  assert.deepEqual([...(roster.members[0]?.keys() ?? [])].sort(), [hex(alice.public.userId), hex(bob.public.userId)].sort());
  assert.deepEqual([...(roster.members[1]?.keys() ?? [])], [hex(alice.public.userId)]);
});

test("a changed byte, a wrong author or an epoch not signed by the one before is refused", async () => {
  const orgId = randomBytes(16);
  const first = await newOrganisation(alice, { orgId, name: "img", kind: KIND_INSTITUTION, createdAt: 1n });
  const changed = first.record.slice();
  changed[changed.length - 1] = (changed[changed.length - 1] as number) ^ 1;
  await assert.rejects(verifyChain([changed], { authorOf: known(alice.public) }), SignatureError);
  const byBob = await newOrganisation(bob, { orgId, name: "img", kind: KIND_INSTITUTION, createdAt: 1n });
  await assert.rejects(verifyChain([byBob.record], { authorOf: known(alice.public) }), KeyMismatchError);
  const stranger = await newOrganisation(alice, { orgId, name: "img", kind: KIND_INSTITUTION, createdAt: 1n });
  const unrelated = await nextEpoch(alice, stranger.org, KIND_INSTITUTION, 2n);
  await assert.rejects(verifyChain([first.record, unrelated.record], { authorOf: known(alice.public) }));
});

test("export names are NAME.vN.EXT.age, made safe, short and unique as export.py makes them", () => {
  const taken = new Set(["kluis-identity.age", "manifest.json", "readme.txt", "open.sh", "opened"]);
  const id = "0123456789abcdef0123456789abcdef";
  assert.equal(exportName("schaderapport.pdf", 2, id, taken), "schaderapport.v2.pdf.age");
  assert.equal(exportName("Schaderapport.PDF", 2, id, taken), "Schaderapport~01234567.v2.PDF.age");
  assert.equal(exportName('a:b/c*d?.txt', 1, id, taken), "a_b_c_d_.v1.txt.age");
  assert.equal(exportName("con.txt", 1, id, taken), "_con.v1.txt.age");
  assert.equal(exportName("...", 1, id, taken), "0123456789ab.v1.age");
  assert.equal(exportName(`${"é".repeat(100)}.pdf`, 1, id, taken), `${"é".repeat(50)}~01234567.v1.pdf.age`);
});
