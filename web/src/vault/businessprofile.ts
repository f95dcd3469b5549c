/**
 * Business profiles (docs/format.md section 21): an organisation's public, signed entry in the
 * directory, checked against its verified key chain. The twin of vault/businessprofile.py.
 */

import { compare, equal, Reader, type Bytes } from "./bytes.js";
import { IntegrityError, KeyMismatchError, MalformedError } from "./errors.js";
import { SIGNATURE_SIZE, splitSigned, verifyBy } from "./keys.js";
import { BUSINESS_PROFILE_SIGNATURE } from "./labels.js";
import { epochKeys, type OrgChain } from "./organisation.js";

const MAGIC = "KLBP";
const WHAT = "business profile";
const ID_SIZE = 16;
const LATITUDE_OFFSET = 90_000_000;
const LONGITUDE_OFFSET = 180_000_000;
const MAX_KVK = 99_999_999;
const MAX_SERVICES = 16;
const POSTCODE = /^[1-9][0-9]{3}[A-Z]{2}$/;
const LIMITS = { name: [1, 128], place: [1, 64], address: [1, 256], serviceArea: [0, 256], contact: [0, 256], service: [1, 64] } as const;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export interface BusinessProfile {
  orgId: Bytes;
  orgFingerprint: Bytes;
  epoch: number;
  orgKeyId: Bytes;
  issuedAt: bigint;
  kvk: number;
  /** Degrees x 10^6. */
  latitudeE6: number;
  longitudeE6: number;
  name: string;
  postcode: string;
  place: string;
  address: string;
  serviceArea: string;
  contact: string;
  services: string[];
  signature: Bytes;
  encoded: Bytes;
}

function text(r: Reader, field: keyof typeof LIMITS): string {
  const [low, high] = LIMITS[field];
  const raw = r.vbytes(high, field);
  let value: string;
  try {
    value = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new MalformedError(`${WHAT}: ${field} is not UTF-8`);
  }
  if (raw.length < low) throw new MalformedError(`${WHAT}: ${field} has ${raw.length} bytes (${low} to ${high} allowed)`);
  if (CONTROL.test(value) || value.normalize("NFC") !== value) throw new MalformedError(`${WHAT}: ${field} has control characters or is not in NFC`);
  return value;
}

export function decodeProfile(data: Uint8Array): BusinessProfile {
  const r = new Reader(data, WHAT);
  r.header(MAGIC);
  const orgId = r.bytes(ID_SIZE);
  const orgFingerprint = r.bytes(32);
  const epoch = r.u32();
  const orgKeyId = r.bytes(32);
  const issuedAt = r.u64();
  const kvk = r.u32();
  const latitude = r.u32();
  const longitude = r.u32();
  const name = text(r, "name");
  const postcode = new TextDecoder().decode(r.vbytes(6, "postcode"));
  if (!POSTCODE.test(postcode)) throw new MalformedError(`${WHAT}: postcode is not 4 digits and 2 capitals (1234AB)`);
  const place = text(r, "place");
  const address = text(r, "address");
  const serviceArea = text(r, "serviceArea");
  const contact = text(r, "contact");
  const count = r.u8();
  if (count < 1 || count > MAX_SERVICES) throw new MalformedError(`${WHAT}: ${count} services (1 to ${MAX_SERVICES} allowed)`);
  const services: string[] = [];
  for (let i = 0; i < count; i++) services.push(text(r, "service"));
  const signature = r.bytes(SIGNATURE_SIZE);
  r.end();
  if (epoch < 1) throw new MalformedError(`${WHAT}: epoch must be at least 1`);
  if (kvk < 1 || kvk > MAX_KVK) throw new MalformedError(`${WHAT}: the KvK number has 8 digits`);
  if (latitude > 2 * LATITUDE_OFFSET || longitude > 2 * LONGITUDE_OFFSET) throw new MalformedError(`${WHAT}: the location is not on earth`);
  const encoder = new TextEncoder();
  for (let i = 1; i < services.length; i++) {
    if (compare(encoder.encode(services[i - 1]), encoder.encode(services[i])) >= 0) throw new MalformedError(`${WHAT}: services not in strictly ascending order`);
  }
  return {
    orgId,
    orgFingerprint,
    epoch,
    orgKeyId,
    issuedAt,
    kvk,
    latitudeE6: latitude - LATITUDE_OFFSET,
    longitudeE6: longitude - LONGITUDE_OFFSET,
    name,
    postcode,
    place,
    address,
    serviceArea,
    contact,
    services,
    signature,
    encoded: r.consumed(),
  };
}

/** Verify a profile against the organisation's verified chain (checks 1-6 of section 21). */
export function verifyProfile(data: Uint8Array, chain: OrgChain): BusinessProfile {
  const profile = decodeProfile(data); // 1
  if (!equal(profile.orgId, chain.orgId)) throw new IntegrityError(`${WHAT}: is another organisation's`); // 2
  if (!equal(profile.orgFingerprint, chain.fingerprintId)) throw new KeyMismatchError(`${WHAT}: names another organisation fingerprint`); // 3
  const record = epochKeys(chain, profile.epoch); // 4
  if (!equal(profile.orgKeyId, record.identity.keyId)) throw new KeyMismatchError(`${WHAT}: names other keys than epoch ${profile.epoch}'s`);
  const { body, signature } = splitSigned(profile.encoded);
  verifyBy(record.identity, BUSINESS_PROFILE_SIGNATURE, body, signature, WHAT); // 5
  if (profile.epoch < chain.epoch) {
    const next = epochKeys(chain, profile.epoch + 1); // 6
    if (profile.issuedAt > next.createdAt) throw new KeyMismatchError(`${WHAT}: signed by the key of epoch ${profile.epoch} after epoch ${profile.epoch + 1} replaced it`);
  }
  return profile;
}
