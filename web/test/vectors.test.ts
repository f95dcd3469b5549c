/**
 * Every file in tests/vectors/ (docs/format.md section 13, tests/vectors/README.md), run under
 * Node against web/src/vault. One test per file; a file whose structure no check handles fails.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import {
  ageHeader,
  decryptAgeFile,
  identityFromString,
  identityToString,
  recipientOf,
} from "../src/vault/agefile.js";
import { bundleKdfParams, openBundle, sealBundleWithNonce, type BundlePurpose } from "../src/vault/bundle.js";
import { concat, type Bytes } from "../src/vault/bytes.js";
import { blake3, ready } from "../src/vault/crypto.js";
import { decodeIndex, indexHash, openIndex, sealIndex } from "../src/vault/dossier-index.js";
import { decodeGrant, openGrant, sealGrant, type GrantKind, type Rights } from "../src/vault/grant.js";
import { checkPayloadDigest, decodeHeader, headerHash, openHeader, sealHeader } from "../src/vault/header.js";
import {
  checkKdfParams,
  decodeKdfParams,
  encodeKdfParams,
  kdfParamsEqual,
  passphraseBytes,
  passphraseKeys,
  passphraseKeysFromMaster,
  type KdfParams,
} from "../src/vault/kdf.js";
import { decodeIdentity, fingerprintDigest, formatFingerprint, privateIdentityFromKeys, privateKeysBytes, verifyBy, type Identity, type PrivateIdentity } from "../src/vault/keys.js";
import { GRANT_SIGNATURE } from "../src/vault/labels.js";
import {
  decodeDocumentMetadata,
  decodeDossierMetadata,
  encodeDocumentMetadata,
  encodeDossierMetadata,
} from "../src/vault/metadata.js";
import {
  checkRewrap,
  epochKeys,
  openMembership,
  verifyChain,
  verifyRoster,
  type IdentityOf,
  type OrgChain,
} from "../src/vault/organisation.js";
import { ageFileKey, decryptPayload, encryptPayload, PayloadDecryptor, PayloadEncryptor } from "../src/vault/payload.js";
import { verifyReceipt } from "../src/vault/receipt.js";
import { entryHash, GENESIS_HASH, verifyChain as verifyLogChain } from "../src/vault/logchain.js";
import { parseRecoveryCode, recoveryKeys, recoveryWords } from "../src/vault/recovery.js";
import { KeyMismatchError } from "../src/vault/errors.js";

import { expectError, h, hex, loadVector, vectorFiles, type Vector } from "./helpers.js";

await ready();

// -- shared objects (tests/vectors/README.md) ---------------------------------------------------

function params(obj: any): KdfParams {
  return { algorithm: obj.algorithm, memoryKib: obj.memory_kib, iterations: obj.iterations, parallelism: obj.parallelism, salt: h(obj.salt) };
}

async function privateOf(obj: any): Promise<PrivateIdentity> {
  return privateIdentityFromKeys(h(obj.user_id), obj.username, obj.key_version, h(obj.private_keys));
}

function dossierKeys(list: any): Map<bigint, Bytes> | null {
  if (list === null) return null;
  return new Map(list.map((item: any) => [BigInt(item.epoch), h(item.key)] as [bigint, Bytes]));
}

function authorLookup(v: Vector): IdentityOf {
  const known = Promise.all((v.author_identities as string[]).map((x) => decodeIdentity(h(x))));
  return async (userId) => {
    const found = (await known).find((i) => hex(i.userId) === hex(userId));
    if (found === undefined) throw new KeyMismatchError("unknown author");
    return found;
  };
}

async function chainOf(v: Vector): Promise<OrgChain> {
  return verifyChain((v.records as string[]).map(h), { authorOf: authorLookup(v) });
}

function plaintextOf(v: Vector): Bytes {
  let data: Bytes;
  if ("plaintext" in v) {
    assert.ok(!("plaintext_pattern" in v));
    data = h(v.plaintext);
  } else {
    const cycle = h(v.plaintext_pattern.byte_cycle);
    const length: number = v.plaintext_pattern.length;
    data = new Uint8Array(length);
    for (let i = 0; i < length; i++) data[i] = cycle[i % cycle.length] as number;
  }
  assert.equal(data.length, v.plaintext_size);
  assert.equal(createHash("sha256").update(data).digest("hex"), v.plaintext_sha256);
  return data;
}

/** Decrypt in pieces of `piece` bytes through the streaming decryptor. */
async function decryptInPieces(key: Uint8Array, payload: Uint8Array, piece: number) {
  const dec = await PayloadDecryptor.create(key);
  const out: Bytes[] = [];
  for (let at = 0; at < payload.length; at += piece) out.push(...(await dec.push(payload.subarray(at, at + piece))));
  const end = await dec.finish();
  return { plaintext: concat(...out, ...end.chunks), digest: end.digest };
}

// -- checks per structure ---------------------------------------------------------------------

async function checkKdf(v: Vector): Promise<void> {
  const p = decodeKdfParams(h(v.params_encoded));
  if (v.params !== null) assert.ok(kdfParamsEqual(p, params(v.params)));
  assert.equal(hex(encodeKdfParams(p)), v.params_encoded);
  const previous = v.previous ? params(v.previous) : null;
  checkKdfParams(p, previous);
  assert.equal(hex(passphraseBytes(v.passphrase)), v.passphrase_utf8);
  const keys = await passphraseKeys(v.passphrase, p, previous);
  const fromMaster = await passphraseKeysFromMaster(h(v.master_key), p);
  assert.equal(hex(keys.authKey), v.auth_key);
  assert.equal(hex(keys.bundleKey), v.bundle_key);
  assert.equal(hex(fromMaster.authKey), v.auth_key);
}

async function checkFingerprint(v: Vector): Promise<void> {
  const digest = await fingerprintDigest(h(v.signing_key), h(v.box_key));
  assert.equal(hex(digest), v.digest);
  assert.equal(hex(digest.slice(0, 32)), v.key_id);
  assert.equal(formatFingerprint(digest), v.fingerprint);
}

async function checkIdentity(v: Vector): Promise<void> {
  const identity = await decodeIdentity(h(v.identity));
  assert.equal(hex(identity.userId), v.user_id);
  assert.equal(identity.keyVersion, v.key_version);
  assert.equal(identity.username, v.username);
  assert.equal(hex(identity.signingKey), v.signing_key);
  assert.equal(hex(identity.boxKey), v.box_key);
  assert.equal(hex(identity.keyId), v.key_id);
  assert.equal(identity.fingerprint, v.fingerprint);
  const me = await privateIdentityFromKeys(h(v.user_id), v.username, v.key_version, h(v.private_keys));
  assert.equal(hex(me.public.encoded), v.identity);
}

async function checkBundle(v: Vector): Promise<void> {
  const data = h(v.bundle);
  const purpose = v.purpose as BundlePurpose;
  let key: Bytes;
  let kdf: KdfParams | null = null;
  if (purpose === 1) {
    kdf = bundleKdfParams(data);
    checkKdfParams(kdf);
    key = (await passphraseKeysFromMaster(h(v.master_key), kdf)).bundleKey;
  } else {
    key = (await recoveryKeys(h(v.recovery_entropy))).bundleKey;
  }
  assert.equal(hex(key), v.bundle_key);
  const me = await openBundle(data, key, {
    purpose,
    userId: h(v.user_id),
    keyVersion: v.key_version,
    username: v.username,
    pinned: await decodeIdentity(h(v.pinned_identity)),
  });
  assert.equal(hex(privateKeysBytes(me)), v.private_keys);
  assert.equal(hex(me.public.signingKey), v.signing_key);
  assert.equal(hex(me.public.boxKey), v.box_key);
  if (v.kdf_params === null) assert.equal(kdf, null);
  else assert.ok(kdf !== null && kdfParamsEqual(kdf, params(v.kdf_params)));
  const resealed = sealBundleWithNonce(h(v.private_keys), { purpose, userId: h(v.user_id), keyVersion: v.key_version, kdfParams: kdf }, key, h(v.nonce));
  assert.equal(hex(resealed), v.bundle);
}

async function checkRecovery(v: Vector): Promise<void> {
  const entropy = await parseRecoveryCode(v.input);
  assert.equal(hex(entropy), v.entropy);
  assert.equal(await recoveryWords(entropy), v.words);
  const keys = await recoveryKeys(entropy);
  assert.equal(hex(keys.authKey), v.recovery_auth_key);
  assert.equal(hex(keys.bundleKey), v.recovery_bundle_key);
}

async function checkPayloadKeys(v: Vector): Promise<Bytes> {
  const key = await ageFileKey(h(v.file_key));
  assert.equal(hex(key), v.age_file_key);
  return key;
}

/** A valid payload decrypts (whole and streamed) to the plaintext and re-encrypts to itself. */
async function checkValidPayload(v: Vector, payload: Bytes): Promise<void> {
  const key = await checkPayloadKeys(v);
  const plaintext = plaintextOf(v);
  assert.equal(hex(payload.subarray(0, 16)), v.nonce);
  assert.equal(payload.length, v.payload_size);
  assert.equal(hex(await blake3(payload)), v.payload_blake3);
  for (const piece of [payload.length || 1, 7919, 65552, 1 << 20]) {
    const { plaintext: out, digest } = piece === payload.length ? await decryptPayload(key, payload) : await decryptInPieces(key, payload, piece);
    assert.ok(Buffer.from(out).equals(Buffer.from(plaintext)), `plaintext (pieces of ${piece})`);
    assert.equal(digest.size, BigInt(v.payload_size));
    assert.equal(hex(digest.blake3), v.payload_blake3);
    assert.equal(digest.plaintextSize, BigInt(plaintext.length));
  }
  const sealed = await encryptPayload(key, plaintext, h(v.nonce));
  assert.equal(hex(sealed.payload), hex(payload));
  assert.equal(sealed.digest.size, BigInt(v.payload_size));
  assert.equal(hex(sealed.digest.blake3), v.payload_blake3);
  // The same through the streaming encryptor in odd pieces.
  const enc = await PayloadEncryptor.create(key, h(v.nonce));
  const parts: Bytes[] = [];
  for (let at = 0; at < plaintext.length; at += 10007) parts.push(...enc.push(plaintext.subarray(at, at + 10007)));
  const end = enc.finish();
  assert.equal(hex(concat(...parts, ...end.chunks)), hex(payload));
}

async function checkPayload(v: Vector): Promise<void> {
  const payload = h(v.payload);
  if (v.expect === "success") return checkValidPayload(v, payload);
  // The digest fields describe the bytes as given.
  assert.equal(payload.length, v.payload_size);
  assert.equal(hex(await blake3(payload)), v.payload_blake3);
  const key = await checkPayloadKeys(v);
  for (const piece of [7919, 65552]) await expectError(v.expect, () => decryptInPieces(key, payload, piece));
  await decryptPayload(key, payload);
}

async function checkAgeExport(v: Vector): Promise<void> {
  const secret = identityFromString(v.identity);
  assert.equal(identityToString(secret), v.identity);
  assert.equal(recipientOf(secret), v.recipient);
  const header = h(v.header);
  const file = h(v.age_file);
  assert.equal(hex(file.subarray(0, header.length)), v.header);
  await checkValidPayload(v, file.slice(header.length));
  const rebuilt = await ageHeader(h(v.age_file_key), [v.recipient], [h(v.ephemeral_secret)]);
  assert.equal(hex(rebuilt), v.header);
  const opened = await decryptAgeFile(file, v.identity);
  assert.equal(hex(opened.plaintext), hex(plaintextOf(v)));
  assert.equal(hex(opened.header), v.header);
}

async function checkMetadata(v: Vector): Promise<void> {
  const data = h(v.plaintext);
  if (v.kind === "document") {
    const meta = decodeDocumentMetadata(data);
    assert.deepEqual({ ...meta }, v.metadata);
    if (v.canonical) assert.equal(hex(encodeDocumentMetadata(meta)), v.plaintext);
  } else {
    assert.equal(v.kind, "dossier");
    const meta = decodeDossierMetadata(data);
    assert.deepEqual({ ...meta }, v.metadata);
    if (v.canonical) assert.equal(hex(encodeDossierMetadata(meta)), v.plaintext);
  }
}

async function checkHeader(v: Vector): Promise<void> {
  const data = h(v.header);
  const author = await decodeIdentity(h(v.author_identity));
  const keys = dossierKeys(v.dossier_keys);
  assert.ok((keys === null) !== (v.file_key === null), "exactly one of dossier_keys and file_key");
  const opened = await openHeader(
    data,
    { dossierId: h(v.dossier_id), documentId: h(v.document_id), author },
    keys !== null ? { dossierKeys: keys } : { fileKey: h(v.file_key) },
  );
  checkPayloadDigest(opened, { size: BigInt(v.payload.size), blake3: h(v.payload.blake3), plaintextSize: BigInt(v.payload.plaintext_size) });
  const out = v.output;
  const header = opened.header;
  assert.equal(hex(opened.fileKey), out.file_key);
  assert.deepEqual({ ...opened.metadata }, out.metadata);
  assert.equal(hex(await headerHash(data)), out.header_hash);
  assert.deepEqual([header.version, header.epoch, header.createdAt], [BigInt(out.version), BigInt(out.epoch), BigInt(out.created_at)]);
  assert.equal(hex(header.authorId), out.author_id);
  assert.equal(hex(header.authorKeyId), out.author_key_id);
  assert.equal(hex(header.keyCommitment), out.key_commitment);
  assert.equal(hex(decodeHeader(data).encoded), v.header);
  if ("sealing" in v) {
    const s = v.sealing;
    assert.ok(keys !== null);
    assert.equal(hex(encodeDocumentMetadata(decodeDocumentMetadata(h(s.metadata_plaintext)))), s.metadata_plaintext);
    const rebuilt = await sealHeader(await privateOf(s.author), {
      dossierId: h(v.dossier_id),
      documentId: h(v.document_id),
      version: BigInt(s.version),
      epoch: BigInt(s.epoch),
      dossierKey: keys.get(BigInt(s.epoch)) as Bytes,
      fileKey: h(out.file_key),
      payloadSize: BigInt(v.payload.size),
      payloadHash: h(v.payload.blake3),
      metadata: decodeDocumentMetadata(h(s.metadata_plaintext)),
      createdAt: BigInt(s.created_at),
      wrapNonce: h(s.wrap_nonce),
      metadataNonce: h(s.metadata_nonce),
    });
    assert.equal(hex(rebuilt), v.header);
  }
}

async function checkGrant(v: Vector): Promise<void> {
  const data = h(v.grant);
  const me = await privateOf(v.recipient);
  const granter = await decodeIdentity(h(v.granter_identity));
  const opened = await openGrant(
    data,
    { kind: v.kind as GrantKind, dossierId: h(v.dossier_id), documentId: v.document_id ? h(v.document_id) : null, number: BigInt(v.number) },
    me,
    granter,
    BigInt(v.now),
  );
  const out = v.output;
  const g = opened.grant;
  assert.equal(hex(opened.key), out.key);
  assert.equal(hex(g.grantId), out.grant_id);
  assert.equal(g.rights, out.rights);
  assert.deepEqual([g.issuedAt, g.expiresAt, g.counter], [BigInt(out.issued_at), BigInt(out.expires_at), BigInt(out.counter)]);
  assert.equal(hex(g.granterId), out.granter_id);
  assert.equal(hex(g.granterKeyId), out.granter_key_id);
  assert.equal(hex(g.recipientKeyId), out.recipient_key_id);
  assert.equal(hex(g.keyCommitment), out.key_commitment);
  assert.equal(hex(decodeGrant(data).encoded), v.grant);
  if ("sealing" in v) {
    const rebuilt = await sealGrant(await privateOf(v.sealing.granter), me.public, {
      grantId: g.grantId,
      kind: v.kind as GrantKind,
      dossierId: h(v.dossier_id),
      documentId: v.document_id ? h(v.document_id) : null,
      number: BigInt(v.number),
      rights: out.rights as Rights,
      issuedAt: BigInt(out.issued_at),
      expiresAt: BigInt(out.expires_at),
      counter: BigInt(out.counter),
      key: h(out.key),
      sealedKey: h(v.sealing.sealed_key),
    });
    assert.equal(hex(rebuilt), v.grant);
  }
}

async function checkIndex(v: Vector): Promise<void> {
  const data = h(v.index);
  const keys = dossierKeys(v.dossier_keys);
  assert.ok(keys !== null);
  const opened = await openIndex(data, {
    dossierId: h(v.dossier_id),
    owner: await decodeIdentity(h(v.owner_identity)),
    dossierKeys: keys,
    highestSeen: BigInt(v.highest_seen),
    previous: v.previous_index ? h(v.previous_index) : null,
  });
  const out = v.output;
  const index = opened.index;
  assert.deepEqual({ ...opened.metadata }, out.metadata);
  assert.deepEqual([index.formatVersion, index.counter, index.epoch], [out.format_version, BigInt(out.counter), BigInt(out.epoch)]);
  assert.equal(index.previousHash === null ? null : hex(index.previousHash), out.previous_hash);
  assert.deepEqual(
    index.entries.map((e) => ({ document_id: hex(e.documentId), version: Number(e.version), header_hash: hex(e.headerHash) })),
    out.entries,
  );
  assert.deepEqual(
    index.deletions.map((d) => ({ document_id: hex(d.documentId), version: Number(d.version), deleted_at: Number(d.deletedAt) })),
    out.deletions,
  );
  assert.equal(hex(await indexHash(data)), out.index_hash);
  assert.equal(hex(decodeIndex(data).encoded), v.index);
  // This client writes only the current format version; a version 1 vector is read, not rebuilt.
  if ("sealing" in v && index.previousHash !== null) {
    const s = v.sealing;
    const rebuilt = await sealIndex(await privateOf(s.owner), {
      dossierId: h(v.dossier_id),
      counter: index.counter,
      previousHash: index.previousHash,
      epoch: index.epoch,
      dossierKey: keys.get(index.epoch) as Bytes,
      metadata: decodeDossierMetadata(h(s.metadata_plaintext)),
      entries: [...index.entries].reverse(), // the writer sorts
      deletions: index.deletions,
      metadataNonce: h(s.metadata_nonce),
    });
    assert.equal(hex(rebuilt), v.index);
  }
}

async function checkOrganisation(v: Vector): Promise<void> {
  const pin = v.pin;
  const chain = await verifyChain((v.records as string[]).map(h), {
    authorOf: authorLookup(v),
    orgId: h(v.org_id),
    name: v.org_name,
    pin: pin
      ? { fingerprint: pin.fingerprint, epoch: pin.epoch, keyId: h(pin.key_id), recordHashes: ((pin.record_hashes ?? []) as string[]).map(h) }
      : null,
  });
  if (v.memberships !== null) await verifyRoster(chain, (v.memberships as string[]).map(h), authorLookup(v));
  assert.equal(chain.fingerprint, v.fingerprint);
  assert.equal(hex(chain.fingerprintDigest), v.fingerprint_digest);
  assert.equal(chain.epoch, v.epoch);
  assert.equal(hex(chain.current.identity.keyId), v.key_id);
}

async function checkMembership(v: Vector): Promise<void> {
  const chain = await chainOf(v);
  const { membership, org } = await openMembership(
    h(v.membership),
    epochKeys(chain, v.epoch),
    await privateOf(v.member),
    await decodeIdentity(h(v.admin_identity)),
  );
  assert.equal(membership.role, v.role);
  assert.equal(hex(privateKeysBytes(org)), v.org_private_keys);
}

async function checkRewrapVector(v: Vector): Promise<void> {
  const chain = await chainOf(v);
  const owner: Identity = await decodeIdentity(h(v.owner_identity));
  const original = decodeGrant(h(v.original)); // the owner's grant, as its granter signed it
  assert.equal(hex(original.granterId), hex(owner.userId));
  assert.equal(hex(original.granterKeyId), hex(owner.keyId));
  verifyBy(owner, GRANT_SIGNATURE, original.encoded.slice(0, -64), original.signature, "original grant");
  const rewrap = decodeGrant(h(v.rewrap));
  checkRewrap(rewrap, original, h(v.org_id));
  const org = await privateOf(v.org_private);
  const opened = await openGrant(
    h(v.rewrap),
    { kind: rewrap.kind, dossierId: rewrap.dossierId, documentId: rewrap.documentId, number: rewrap.number },
    org,
    epochKeys(chain, org.public.keyVersion).identity,
    BigInt(v.now),
  );
  assert.equal(hex(opened.key), v.key);
}

async function checkReceipt(v: Vector): Promise<void> {
  const receipt = verifyReceipt(h(v.receipt), h(v.dossier_id), await chainOf(v));
  assert.equal(receipt.epoch, v.epoch);
  assert.equal(receipt.openedAt, BigInt(v.opened_at));
  assert.deepEqual(
    receipt.entries.map((e) => ({ document_id: hex(e.documentId), version: Number(e.version), payload_hash: hex(e.payloadHash), header_hash: hex(e.headerHash) })),
    v.entries,
  );
}

async function checkAccessLog(v: Vector): Promise<void> {
  const entries = v.entries as Record<string, unknown>[];
  await verifyLogChain(entries);
  let prev = GENESIS_HASH;
  for (const entry of entries) {
    assert.equal(entry.hash, await entryHash(prev, entry));
    prev = entry.hash as string;
  }
}

const CHECKS: Record<string, (v: Vector) => Promise<void>> = {
  kdf: checkKdf,
  fingerprint: checkFingerprint,
  identity: checkIdentity,
  bundle: checkBundle,
  recovery: checkRecovery,
  payload: checkPayload,
  "age-export": checkAgeExport,
  metadata: checkMetadata,
  header: checkHeader,
  grant: checkGrant,
  index: checkIndex,
  organisation: checkOrganisation,
  membership: checkMembership,
  rewrap: checkRewrapVector,
  receipt: checkReceipt,
  accesslog: checkAccessLog,
};

// -- one test per file -------------------------------------------------------------------------

const files = vectorFiles();

test("tests/vectors/ holds vectors of every structure this client checks", () => {
  assert.ok(files.length >= 200, `only ${files.length} vector files found`);
  const structures = new Set(files.map((name) => loadVector(name).structure));
  assert.deepEqual([...structures].sort(), Object.keys(CHECKS).sort());
});

for (const name of files) {
  test(name, async () => {
    const v = loadVector(name);
    const check = CHECKS[v.structure];
    assert.ok(check !== undefined, `${name}: no check handles structure ${v.structure}`);
    if (v.expect === "success") await check(v);
    else await expectError(v.expect, () => check(v));
  });
}
