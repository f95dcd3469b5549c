/**
 * The web app's village code that is pure: the key chain writer a browser uses to make a group
 * and rotate it (accepted by the chain verifier, refused once tampered), and the Markdown subset
 * of the news page (text only: HTML stays characters, images their alt text, links their text
 * and address), and the group routes.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { parseMarkdown, inline } from "../src/app/markdown.js";
import { hrefOf, parseRoute, type Route } from "../src/app/router.js";
import { ready, randomBytes } from "../src/vault/crypto.js";
import { IntegrityError, KeyMismatchError, SignatureError } from "../src/vault/errors.js";
import { checkGroup, epochKey } from "../src/vault/group.js";
import { privateIdentityFromKeys, type Identity } from "../src/vault/keys.js";
import {
  KIND_GROUP,
  newEpochKeys,
  openMembership,
  ROLE_ADMIN,
  ROLE_MEMBER,
  sealMembership,
  sealOrgKeys,
  verifyChain,
  verifyRoster,
  type IdentityOf,
} from "../src/vault/organisation.js";

await ready();

const alice = await privateIdentityFromKeys(randomBytes(16), "alice", 1, randomBytes(96));
const bob = await privateIdentityFromKeys(randomBytes(16), "bob", 1, randomBytes(96));
const mallory = await privateIdentityFromKeys(randomBytes(16), "mallory", 1, randomBytes(96));
const people: Identity[] = [alice.public, bob.public, mallory.public];
const identityOf: IdentityOf = (id) => {
  const found = people.find((p) => p.userId.every((b, i) => b === id[i]));
  if (found === undefined) throw new KeyMismatchError("unknown");
  return found;
};

test("a group made and rotated by the writer verifies: chain, roster, shape, and the members' K_e", async () => {
  const id = randomBytes(16);
  const one = await newEpochKeys(id, "dorpsbelangen", 1);
  const two = await newEpochKeys(id, "dorpsbelangen", 2);
  const records = [sealOrgKeys(alice, one, KIND_GROUP, null, 1000n), sealOrgKeys(alice, two, KIND_GROUP, one, 2000n)];
  const chain = await verifyChain(records, { authorOf: identityOf, orgId: id, name: "dorpsbelangen" });
  assert.equal(chain.epoch, 2);
  assert.equal(chain.kind, KIND_GROUP);
  const memberships = [
    sealMembership(alice, one, alice.public, ROLE_ADMIN, 1000n),
    sealMembership(alice, one, bob.public, ROLE_MEMBER, 1000n),
    sealMembership(alice, two, alice.public, ROLE_ADMIN, 2000n),
  ];
  const roster = await verifyRoster(chain, memberships, identityOf);
  checkGroup(chain, roster);
  const bobs = await openMembership(memberships[1] as Uint8Array, chain.records[0]!, bob, alice.public);
  assert.deepEqual(await epochKey(bobs.org), await epochKey(one));
  assert.ok(!roster.members[1]?.has(Buffer.from(bob.public.userId).toString("hex")), "bob is not in epoch 2");
});

test("a rotation that names other keys than epoch 1's, a damaged signature, or an author without the right is refused", async () => {
  const id = randomBytes(16);
  const one = await newEpochKeys(id, "straat", 1);
  const other = await newEpochKeys(id, "straat", 1); // keys the chain never published
  const two = await newEpochKeys(id, "straat", 2);
  const genesis = sealOrgKeys(alice, one, KIND_GROUP, null, 1n);
  await assert.rejects(verifyChain([genesis, sealOrgKeys(alice, two, KIND_GROUP, other, 2n)], { authorOf: identityOf }), IntegrityError);
  const damaged = sealOrgKeys(alice, two, KIND_GROUP, one, 2n);
  damaged.set([(damaged[damaged.length - 100] as number) ^ 1], damaged.length - 100); // inside the author's signature
  await assert.rejects(verifyChain([genesis, damaged], { authorOf: identityOf }), SignatureError);
  // Mallory holds epoch 1's keys (say, leaked) and signs epoch 2: she was no admin of epoch 1.
  const chain = await verifyChain([genesis, sealOrgKeys(mallory, two, KIND_GROUP, one, 2n)], { authorOf: identityOf });
  await assert.rejects(verifyRoster(chain, [sealMembership(alice, one, alice.public, ROLE_ADMIN, 1n)], identityOf), IntegrityError);
  assert.throws(() => sealOrgKeys(alice, two, KIND_GROUP, null, 1n), RangeError);
});

test("Markdown: HTML stays text, images become their alt text, links their text and address", () => {
  const blocks = parseMarkdown("# Kop\n\n<script>alert(1)</script> **vet** en *schuin* en `code`\n\n![foto](https://x.example/a.png) [site](https://x.example)");
  assert.deepEqual(blocks[0], { type: "heading", level: 3, content: [{ type: "text", text: "Kop" }] });
  assert.deepEqual(blocks[1], {
    type: "paragraph",
    content: [
      { type: "text", text: "<script>alert(1)</script> " },
      { type: "strong", text: "vet" },
      { type: "text", text: " en " },
      { type: "em", text: "schuin" },
      { type: "text", text: " en " },
      { type: "code", text: "code" },
    ],
  });
  assert.deepEqual(blocks[2], { type: "paragraph", content: [{ type: "text", text: "foto site (https://x.example)" }] });
});

test("Markdown: lists, numbered lists, continued items, paragraphs joined, deeper headings", () => {
  const blocks = parseMarkdown("Een\nzin.\n\n- a\n  verder\n- b\n\n1. een\n2. twee\n\n### Klein");
  assert.deepEqual(blocks, [
    { type: "paragraph", content: [{ type: "text", text: "Een zin." }] },
    { type: "list", ordered: false, items: [[{ type: "text", text: "a verder" }], [{ type: "text", text: "b" }]] },
    { type: "list", ordered: true, items: [[{ type: "text", text: "een" }], [{ type: "text", text: "twee" }]] },
    { type: "heading", level: 4, content: [{ type: "text", text: "Klein" }] },
  ]);
  assert.deepEqual(inline("**"), [{ type: "text", text: "**" }]);
  assert.deepEqual(parseMarkdown(""), []);
});

test("the group routes map both ways; an unknown tab is the dossier list", () => {
  const id = "0123456789abcdef0123456789abcdef";
  const routes: Route[] = [
    { name: "groups" },
    { name: "group", groupId: id, tab: "news" },
    { name: "group", groupId: id, tab: "chat" },
    { name: "group", groupId: id, tab: "agenda" },
    { name: "group", groupId: id, tab: "members" },
    { name: "inbox" },
    { name: "conversation", groupId: id },
  ];
  for (const route of routes) assert.deepEqual(parseRoute(hrefOf(route)), route);
  assert.deepEqual(parseRoute(`#/groepen/${id}`), { name: "group", groupId: id, tab: "news" });
  assert.deepEqual(parseRoute(`#/groepen/${id}/bibliotheek`), { name: "dossiers" });
});
