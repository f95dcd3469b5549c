/**
 * The key bundle (docs/format.md section 4): the 96 bytes of PrivateKeys sealed under the
 * passphrase's bundle key (purpose 1) or the recovery code's (purpose 2).
 *
 * Every failure to open, whatever its cause, is `WrongPassphrase` (threat L15); only the KDF
 * policy (`DowngradeError`, before anything is derived) and the pinned-identity check
 * (`KeyMismatchError`, after opening) are told apart.
 */

import { ascii, concat, equal, Reader, u32, u8, type Bytes } from "./bytes.js";
import { xchachaOpen, xchachaSeal } from "./crypto.js";
import { KeyMismatchError, VaultError, WrongPassphrase } from "./errors.js";
import { encodeKdfParams, readKdfParams, type KdfParams } from "./kdf.js";
import { ID_SIZE, PRIVATE_KEYS_SIZE, privateIdentityFromKeys, privateKeysBytes, type Identity, type PrivateIdentity } from "./keys.js";
import { KEY_BUNDLE_AD } from "./labels.js";

export const PURPOSE_PASSPHRASE = 1;
export const PURPOSE_RECOVERY = 2;
export type BundlePurpose = typeof PURPOSE_PASSPHRASE | typeof PURPOSE_RECOVERY;

const MAGIC = "KLKB";
const WHAT = "key bundle";
const NONCE_SIZE = 24;
const CIPHERTEXT_SIZE = PRIVATE_KEYS_SIZE + 16;

interface ParsedBundle {
  purpose: number;
  userId: Bytes;
  keyVersion: number;
  kdfParams: KdfParams | null;
  /** All bytes before the nonce: the associated data after the label. */
  prefix: Bytes;
  nonce: Bytes;
  ciphertext: Bytes;
}

function parse(data: Uint8Array): ParsedBundle {
  const r = new Reader(data, WHAT);
  r.header(MAGIC);
  const purpose = r.u8();
  const userId = r.bytes(ID_SIZE);
  const keyVersion = r.u32();
  let kdfParams: KdfParams | null = null;
  if (purpose === PURPOSE_PASSPHRASE) kdfParams = readKdfParams(r);
  const prefix = r.consumed();
  const nonce = r.bytes(NONCE_SIZE);
  const ciphertext = r.bytes(CIPHERTEXT_SIZE);
  r.end();
  return { purpose, userId, keyVersion, kdfParams, prefix, nonce, ciphertext };
}

/**
 * The KdfParams inside a purpose-1 bundle, read before anything is derived so the caller can
 * apply the KDF policy to them. Any bundle that does not parse as a purpose-1 bundle:
 * `WrongPassphrase`.
 */
export function bundleKdfParams(data: Uint8Array): KdfParams {
  try {
    const parsed = parse(data);
    if (parsed.purpose === PURPOSE_PASSPHRASE && parsed.kdfParams !== null) return parsed.kdfParams;
  } catch (error) {
    if (!(error instanceof VaultError)) throw error;
  }
  throw new WrongPassphrase("the passphrase does not open the key bundle");
}

function adOf(prefix: Uint8Array): Bytes {
  return concat(ascii(KEY_BUNDLE_AD), Uint8Array.of(0), prefix);
}

/** Seal PrivateKeys into a bundle with a given nonce (use `sealBundle` for a fresh one). */
export function sealBundleWithNonce(
  privateKeys: Uint8Array,
  fields: { purpose: BundlePurpose; userId: Uint8Array; keyVersion: number; kdfParams: KdfParams | null },
  key: Uint8Array,
  nonce: Uint8Array,
): Bytes {
  if (privateKeys.length !== PRIVATE_KEYS_SIZE) throw new RangeError("PrivateKeys are 96 bytes");
  if ((fields.purpose === PURPOSE_PASSPHRASE) !== (fields.kdfParams !== null)) {
    throw new RangeError("a bundle has KdfParams exactly when its purpose is 1");
  }
  const prefix = concat(
    ascii(MAGIC),
    Uint8Array.of(1),
    u8(fields.purpose),
    fields.userId,
    u32(fields.keyVersion),
    fields.kdfParams ? encodeKdfParams(fields.kdfParams) : new Uint8Array(0),
  );
  return concat(prefix, nonce, xchachaSeal(key, nonce, privateKeys, adOf(prefix)));
}

export interface BundleExpectation {
  purpose: BundlePurpose;
  userId: Uint8Array;
  keyVersion: number;
  /** The username to rebuild the identity record with (it is not inside the bundle). */
  username: string;
  /** The identity this client has pinned for the user: the keys inside must be its keys. */
  pinned: Identity;
}

/**
 * Open a bundle with `key` (the bundle key of the passphrase or of the recovery code). The
 * caller has applied the KDF policy to `bundleKdfParams(data)` before deriving the key.
 */
export async function openBundle(data: Uint8Array, key: Uint8Array, expect: BundleExpectation): Promise<PrivateIdentity> {
  const wrong = (): WrongPassphrase => new WrongPassphrase("the passphrase does not open the key bundle");
  let parsed: ParsedBundle;
  try {
    parsed = parse(data);
  } catch (error) {
    if (error instanceof VaultError) throw wrong();
    throw error;
  }
  if (
    parsed.purpose !== expect.purpose ||
    !equal(parsed.userId, expect.userId) ||
    parsed.keyVersion !== expect.keyVersion
  ) {
    throw wrong();
  }
  const privateKeys = xchachaOpen(key, parsed.nonce, parsed.ciphertext, adOf(parsed.prefix));
  if (privateKeys === null) throw wrong();
  const me = await privateIdentityFromKeys(expect.userId, expect.username, expect.keyVersion, privateKeys);
  if (!equal(me.public.signingKey, expect.pinned.signingKey) || !equal(me.public.boxKey, expect.pinned.boxKey)) {
    throw new KeyMismatchError(`${WHAT}: the keys inside are not the pinned identity's keys`);
  }
  return me;
}

export function bundlePrivateKeys(me: PrivateIdentity): Bytes {
  return privateKeysBytes(me);
}
