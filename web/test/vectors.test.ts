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
import { blake3, ready, sha256 } from "../src/vault/crypto.js";
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
import { verifyProfile } from "../src/vault/businessprofile.js";
import { entryHash, GENESIS_HASH, verifyChain as verifyLogChain } from "../src/vault/logchain.js";
import { parseRecoveryCode, recoveryKeys, recoveryWords } from "../src/vault/recovery.js";
import { KeyMismatchError, MalformedError } from "../src/vault/errors.js";
import { checkExtension, checkpointText, openCheckpoint, parseCheckpoint, trustedLog, type Checkpoint, type TrustedLog } from "../src/vault/checkpoint.js";
import { parseWitnessVkey, WitnessPolicy, type Freshness } from "../src/vault/cosignature.js";
import { verifyLookup } from "../src/vault/keylookup.js";
import {
  decodeLogEntry,
  encodeLogEntry,
  identityEntry,
  KIND_IDENTITY,
  KIND_OPERATOR_KEY,
  KIND_VERIFICATION,
  labelInput,
  operatorKeyEntry,
  organisationEntry,
  recordDigest,
  verificationEntry,
  type Namespace,
} from "../src/vault/logentry.js";
import { commitment, evidenceSalt, verifyEvidence } from "../src/vault/evidence.js";
import { openNote, parseVkey, type Verifier } from "../src/vault/note.js";
import { decodeOperatorKey, verifyStatement } from "../src/vault/operator.js";
import { decodeEntryBundle, parseTilePath, tile, tileData, TileHashReader, tilePath, tilesForSize, type Tile } from "../src/vault/tiles.js";
import { EMPTY_ROOT, leafHash, MemoryTree, treeHash, verifyConsistency, verifyInclusion } from "../src/vault/tlog.js";
import { proofToHash, prove, publicKeyOf, verify as vrfVerify } from "../src/vault/vrf.js";

import { judgePassphrase, requireStrongPassphrase } from "../src/vault/passphrase.js";
import { checkGroup, openArchiveKey } from "../src/vault/group.js";
import { decodeMessage, messageHash, openMessage, verifySender } from "../src/vault/message.js";
import { stateFromJson, stateToJson, verifyMessages, verifyPublicPost, type GroupContext } from "../src/vault/messagelog.js";
import { WeakPassphrase } from "../src/vault/errors.js";

import { commonPasswords, expectError, h, hex, loadVector, vectorFiles, type Vector } from "./helpers.js";

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

async function checkBusinessProfile(v: Vector): Promise<void> {
  const p = verifyProfile(h(v.profile), await chainOf(v));
  assert.deepEqual(
    { epoch: p.epoch, issued_at: Number(p.issuedAt), kvk: p.kvk, latitude_e6: p.latitudeE6, longitude_e6: p.longitudeE6, business_name: p.name, postcode: p.postcode, place: p.place, address: p.address, service_area: p.serviceArea, contact: p.contact, services: p.services },
    { epoch: v.epoch, issued_at: v.issued_at, kvk: v.kvk, latitude_e6: v.latitude_e6, longitude_e6: v.longitude_e6, business_name: v.business_name, postcode: v.postcode, place: v.place, address: v.address, service_area: v.service_area, contact: v.contact, services: v.services },
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

// -- the key transparency log (section 17) ---------------------------------------------------------

const hashes = (list: string[]): Bytes[] => list.map(h);

async function anyVkey(vkey: string): Promise<Verifier> {
  try {
    return await parseVkey(vkey);
  } catch (error) {
    if (!(error instanceof MalformedError)) throw error;
    return parseWitnessVkey(vkey);
  }
}

async function logOf(v: Vector): Promise<TrustedLog> {
  const witnesses = await Promise.all((v.witness_vkeys as string[]).map(parseWitnessVkey));
  return trustedLog(v.origin, await parseVkey(v.log_vkey), new WitnessPolicy(witnesses, v.quorum));
}

function previousOf(v: Vector): Checkpoint | null {
  const p = v.previous;
  return p === null ? null : { origin: v.origin, size: BigInt(p.size), root: h(p.root), extensions: [] };
}

function freshOf(v: Vector): Freshness | null {
  assert.equal(v.now === null, v.max_age === null, "now and max_age are both set or both null");
  return v.now === null ? null : { now: BigInt(v.now), maxAge: BigInt(v.max_age) };
}

async function checkTiles(v: Vector): Promise<void> {
  const entries = hashes(v.entries);
  const tree = new MemoryTree();
  for (const entry of entries) await tree.append(entry);
  assert.equal(tree.size, BigInt(v.size));
  assert.equal(hex(await tree.root()), v.root);
  const served = new Map<string, Bytes>();
  for (const t of v.tiles) {
    const expected = tile(t.level, BigInt(t.index), t.width);
    assert.equal(tilePath(expected), t.path);
    assert.deepEqual(parseTilePath(t.path), expected);
    assert.equal(hex(await tileData(expected, tree.read)), t.data);
    served.set(t.path, h(t.data));
  }
  assert.deepEqual([...served.keys()].sort(), tilesForSize(BigInt(v.size)).map(tilePath).sort());
  const fetched: string[] = [];
  const reader = new TileHashReader(BigInt(v.size), (t: Tile) => {
    fetched.push(tilePath(t));
    const data = served.get(tilePath(t));
    assert.ok(data !== undefined, `no tile ${tilePath(t)}`);
    return data;
  });
  assert.equal(hex(await treeHash(BigInt(v.size), reader.read)), v.root);
  assert.equal(new Set(fetched).size, fetched.length, "each tile fetched once");
  const bundle = parseTilePath(v.bundle.path);
  assert.equal(bundle.level, null);
  const first = Number(bundle.index) * 256;
  assert.deepEqual(decodeEntryBundle(h(v.bundle.data), bundle.width).map(hex), entries.slice(first, first + bundle.width).map(hex));
  for (const [size, paths] of Object.entries(v.tiles_of_sizes as Record<string, string[]>)) {
    assert.deepEqual(tilesForSize(BigInt(size)).map(tilePath), paths);
  }
  for (const p of v.paths) {
    const expected = tile(p.level, BigInt(p.index), p.width);
    assert.equal(tilePath(expected), p.path);
    assert.deepEqual(parseTilePath(p.path), expected);
  }
}

async function checkTlog(v: Vector): Promise<void> {
  switch (v.kind) {
    case "roots": {
      const tree = new MemoryTree();
      assert.equal(hex(await tree.root()), v.roots[0]);
      assert.equal(hex(EMPTY_ROOT), v.roots[0]);
      for (const [i, entry] of (v.entries as string[]).entries()) {
        assert.equal(hex(await leafHash(h(entry))), v.leaf_hashes[i]);
        await tree.append(h(entry));
        assert.equal(hex(await tree.root()), v.roots[i + 1]);
      }
      return;
    }
    case "inclusion": {
      const leaf = await leafHash(h(v.entry));
      assert.equal(hex(leaf), v.leaf_hash);
      return verifyInclusion(leaf, BigInt(v.index), BigInt(v.size), hashes(v.proof), h(v.root));
    }
    case "consistency":
      return verifyConsistency(BigInt(v.old_size), BigInt(v.new_size), h(v.old_root), h(v.new_root), hashes(v.proof));
    case "tiles":
      return checkTiles(v);
    case "tile-path":
      parseTilePath(v.path);
      return;
    default:
      assert.fail(`unknown tlog vector kind ${v.kind}`);
  }
}

async function checkNote(v: Vector): Promise<void> {
  const verifiers = await Promise.all((v.vkeys as string[]).map(anyVkey));
  const opened = openNote(h(v.note), verifiers);
  assert.equal(opened.text, v.text);
  assert.deepEqual(opened.verified.map((x) => x.verifier.vkey).sort(), [...(v.verified as string[])].sort());
}

async function checkCheckpoint(v: Vector): Promise<void> {
  const verified = openCheckpoint(h(v.note), await logOf(v), freshOf(v));
  await checkExtension(previousOf(v), verified.checkpoint, hashes(v.consistency));
  const cp = verified.checkpoint;
  assert.equal(cp.size, BigInt(v.size));
  assert.equal(hex(cp.root), v.root);
  assert.deepEqual(Object.fromEntries([...verified.cosigned].map(([k, t]) => [k, Number(t)])), v.cosigned);
  assert.deepEqual(parseCheckpoint(checkpointText(cp)), cp);
}

async function checkVrf(v: Vector): Promise<void> {
  const publicKey = h(v.public_key);
  const alpha = h(v.alpha);
  const pi = h(v.pi);
  const beta = await vrfVerify(publicKey, alpha, pi);
  assert.equal(hex(beta), v.beta);
  assert.equal(hex(await proofToHash(pi)), v.beta);
  if (v.secret_key !== null) {
    assert.equal(hex(publicKeyOf(h(v.secret_key))), v.public_key);
    assert.equal(hex(await prove(h(v.secret_key), alpha)), v.pi);
  }
  if ("label" in v) {
    assert.equal(hex(labelInput(v.namespace as Namespace, v.name)), v.alpha);
    assert.equal(hex(beta.slice(0, 32)), v.label);
  }
}

async function checkLogEntry(v: Vector): Promise<void> {
  const data = h(v.entry);
  const entry = decodeLogEntry(data);
  assert.equal(hex(encodeLogEntry(entry)), v.entry);
  assert.equal(entry.kind, v.kind);
  const record = h(v.record);
  if (entry.kind === KIND_OPERATOR_KEY) {
    const key = decodeOperatorKey(record);
    assert.equal(hex(entry.record as Bytes), v.record);
    assert.deepEqual([key.origin, key.keyVersion, hex(key.signingKey), key.createdAt], [v.origin, v.key_version, v.signing_key, BigInt(v.created_at)]);
    assert.equal(hex(encodeLogEntry(operatorKeyEntry(record))), v.entry);
    return;
  }
  const label = entry.label as Bytes;
  assert.equal(hex(label), v.label);
  assert.equal(hex(entry.digest as Bytes), v.record_hash);
  assert.equal(hex(await recordDigest(record)), v.record_hash);
  let rebuilt;
  if (entry.kind === KIND_VERIFICATION) {
    rebuilt = await verificationEntry(label, record);
  } else {
    assert.equal(entry.version, v.version);
    rebuilt = await (entry.kind === KIND_IDENTITY ? identityEntry : organisationEntry)(label, entry.version, record);
  }
  assert.equal(hex(encodeLogEntry(rebuilt)), v.entry);
}

async function checkOperator(v: Vector): Promise<void> {
  const statement = verifyStatement(h(v.statement), {
    operator: decodeOperatorKey(h(v.operator_key)),
    orgId: h(v.org_id),
    orgFingerprint: h(v.org_fingerprint),
  });
  assert.equal(statement.status, v.status);
  assert.equal(statement.statedAt, BigInt(v.stated_at));
}

async function checkEvidence(v: Vector): Promise<void> {
  const fileHash = await sha256(h(v.file));
  const salt = await evidenceSalt(h(v.file_key), h(v.dossier_id), h(v.document_id), BigInt(v.version));
  const proven = await verifyEvidence({
    fileHash,
    salt,
    entry: h(v.entry),
    index: BigInt(v.index),
    inclusion: (v.inclusion as string[]).map(h),
    checkpoint: new TextEncoder().encode(v.checkpoint),
    log: await logOf(v.log),
  });
  assert.deepEqual([hex(fileHash), hex(salt), hex(await commitment(salt, fileHash))], [v.file_hash, v.salt, v.commitment]);
  assert.equal(hex(proven.entry.digest as Uint8Array), v.commitment);
  assert.equal(proven.existedBy, v.existed_by === null ? null : BigInt(v.existed_by));
}

async function checkKtLookup(v: Vector): Promise<void> {
  const found = await verifyLookup(
    { log: await logOf(v), vrfKey: h(v.vrf_key) },
    { namespace: v.namespace as Namespace, name: v.name, previous: previousOf(v), fresh: freshOf(v) },
    {
      checkpoint: h(v.checkpoint),
      consistency: hashes(v.consistency),
      labelProof: h(v.label_proof),
      record: h(v.record),
      index: BigInt(v.index),
      inclusion: hashes(v.inclusion),
    },
  );
  assert.equal(hex(found.label), v.label);
  assert.equal(hex(encodeLogEntry(found.entry)), v.entry);
  assert.equal(found.checkpoint.checkpoint.size, BigInt(v.size));
  assert.equal(hex(found.checkpoint.checkpoint.root), v.root);
}

// -- the passphrase rule (section 18) --------------------------------------------------------------

async function checkPassphrase(v: Vector): Promise<void> {
  const list = await commonPasswords();
  const verdict = judgePassphrase(v.passphrase, v.context, list);
  assert.equal(verdict.length, v.length, "length: code points after NFC");
  assert.equal(verdict.estimate, v.estimate, "estimate");
  assert.equal(verdict.reason, v.reason, "reason");
  assert.equal(verdict.accepted, v.expect === "success");
  try {
    requireStrongPassphrase(v.passphrase, v.context, list);
  } catch (error) {
    if (error instanceof WeakPassphrase) assert.equal(error.reason, v.reason, "the error's reason");
    throw error;
  }
}

// -- groups, conversations and messages (section 19) --------------------------------------------------

function identityLookup(list: string[]): IdentityOf {
  const known = Promise.all(list.map((x) => decodeIdentity(h(x))));
  return async (userId) => {
    const found = (await known).find((i) => hex(i.userId) === hex(userId));
    if (found === undefined) throw new KeyMismatchError("no trusted identity for this user");
    return found;
  };
}

/** The group every section 19 vector carries: its chain and roster verified, its shape checked. */
async function groupOf(v: Vector): Promise<GroupContext> {
  const identityOf = identityLookup(v.identities);
  const chain = await verifyChain((v.records as string[]).map(h), { authorOf: identityOf });
  const roster = await verifyRoster(chain, (v.memberships as string[]).map(h), identityOf);
  return { chain, roster, identityOf };
}

async function checkArchive(v: Vector): Promise<void> {
  const g = await groupOf(v);
  checkGroup(g.chain, g.roster);
  const opened = openArchiveKey(h(v.archive), g.chain, g.roster, await privateOf(v.member), await decodeIdentity(h(v.admin_identity)));
  assert.equal(opened.epoch, v.epoch);
  assert.equal(hex(opened.epochKey), v.epoch_key);
}

async function checkMessage(v: Vector): Promise<void> {
  const data = h(v.message);
  const message = decodeMessage(data);
  verifySender(message, await decodeIdentity(h(v.sender_identity)));
  const opened = await openMessage(message, v.epoch_key === null ? null : h(v.epoch_key));
  assert.equal(message.kind, v.kind);
  assert.equal(hex(opened.plaintext), v.plaintext);
  assert.equal(opened.content.kind, v.kind);
  assert.equal(hex(await messageHash(data)), v.message_hash);
}

async function checkMessageLog(v: Vector): Promise<void> {
  const g = await groupOf(v);
  const state = v.state === null ? null : stateFromJson(v.state);
  if (v.state !== null) assert.deepEqual(stateToJson(state!), v.state, "the state reads back to itself");
  const messages = (v.messages as string[]).map(h);
  const result = await verifyMessages(g, state, messages);
  assert.deepEqual(stateToJson(result.state), v.result);
  assert.deepEqual(stateToJson(stateFromJson(v.result)), v.result);
  assert.equal(result.messages.length, messages.length);
  for (const [i, m] of result.messages.entries()) assert.equal(hex(m.hash), hex(await messageHash(messages[i]!)));
}

async function checkPublicPost(v: Vector): Promise<void> {
  const g = await groupOf(v);
  checkGroup(g.chain, g.roster);
  const post = await verifyPublicPost(g, (v.revisions as string[]).map(h));
  assert.deepEqual(post.titles, v.titles);
  assert.equal(post.deleted, v.deleted);
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
  business: checkBusinessProfile,
  accesslog: checkAccessLog,
  tlog: checkTlog,
  note: checkNote,
  checkpoint: checkCheckpoint,
  vrf: checkVrf,
  logentry: checkLogEntry,
  operator: checkOperator,
  ktlookup: checkKtLookup,
  evidence: checkEvidence,
  passphrase: checkPassphrase,
  archive: checkArchive,
  message: checkMessage,
  messagelog: checkMessageLog,
  publicpost: checkPublicPost,
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
