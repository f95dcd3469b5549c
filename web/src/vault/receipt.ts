/**
 * Receipts (docs/format.md section 15): an organisation's signed acknowledgement of exactly which
 * document versions one of its members' clients opened.
 */

import { ascii, compare, concat, equal, Reader, u32, u64, type Bytes } from "./bytes.js";
import { randomBytes } from "./crypto.js";
import { IntegrityError, KeyMismatchError, MalformedError } from "./errors.js";
import { ID_SIZE, SIGNATURE_SIZE, signWithLabel, splitSigned, verifyBy, type PrivateIdentity } from "./keys.js";
import { RECEIPT_SIGNATURE } from "./labels.js";
import { epochKeys, type OrgChain } from "./organisation.js";

const MAGIC = "KLRC";
const WHAT = "receipt";
export const MAX_ENTRIES = 100000;
const ENTRY_SIZE = ID_SIZE + 8 + 32 + 32;

export interface ReceiptEntry {
  documentId: Bytes;
  version: bigint;
  /** The signed header's payload_hash. */
  payloadHash: Bytes;
  /** BLAKE3 of the header. */
  headerHash: Bytes;
}

export interface Receipt {
  receiptId: Bytes;
  orgId: Bytes;
  orgFingerprint: Bytes;
  epoch: number;
  orgKeyId: Bytes;
  memberId: Bytes;
  memberKeyId: Bytes;
  dossierId: Bytes;
  openedAt: bigint;
  entries: ReceiptEntry[];
  signature: Bytes;
  encoded: Bytes;
}

function order(a: ReceiptEntry, b: ReceiptEntry): number {
  return compare(a.documentId, b.documentId) || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0);
}

export function decodeReceipt(data: Uint8Array): Receipt {
  const r = new Reader(data, WHAT);
  r.header(MAGIC);
  const head = {
    receiptId: r.bytes(ID_SIZE),
    orgId: r.bytes(ID_SIZE),
    orgFingerprint: r.bytes(32),
    epoch: r.u32(),
    orgKeyId: r.bytes(32),
    memberId: r.bytes(ID_SIZE),
    memberKeyId: r.bytes(32),
    dossierId: r.bytes(ID_SIZE),
    openedAt: r.u64(),
  };
  const count = r.u32();
  if (count < 1 || count > MAX_ENTRIES) throw new MalformedError(`${WHAT}: ${count} entries (1 to ${MAX_ENTRIES})`);
  if (count * ENTRY_SIZE > r.remaining) throw new MalformedError(`${WHAT}: truncated`);
  const entries: ReceiptEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({ documentId: r.bytes(ID_SIZE), version: r.u64(), payloadHash: r.bytes(32), headerHash: r.bytes(32) });
  }
  const signature = r.bytes(SIGNATURE_SIZE);
  r.end();
  if (head.epoch < 1) throw new MalformedError(`${WHAT}: epoch must be at least 1`);
  for (const e of entries) if (e.version < 1n) throw new MalformedError(`${WHAT}: version must be at least 1`);
  for (let i = 1; i < entries.length; i++) {
    if (order(entries[i - 1] as ReceiptEntry, entries[i] as ReceiptEntry) >= 0) {
      throw new MalformedError(`${WHAT}: entries are not in strictly ascending (document_id, version) order`);
    }
  }
  return { ...head, entries, signature, encoded: r.consumed() };
}

/** Verify a receipt for an expected dossier against the organisation's verified chain (checks 1-6). */
export function verifyReceipt(data: Uint8Array, dossierId: Uint8Array, chain: OrgChain): Receipt {
  const receipt = decodeReceipt(data); // 1
  if (!equal(receipt.dossierId, dossierId) || !equal(receipt.orgId, chain.orgId)) {
    throw new IntegrityError(`${WHAT}: for another dossier or organisation`); // 2
  }
  if (!equal(receipt.orgFingerprint, chain.fingerprintId)) {
    throw new KeyMismatchError(`${WHAT}: names another organisation fingerprint`); // 3
  }
  const record = epochKeys(chain, receipt.epoch); // 4
  if (!equal(receipt.orgKeyId, record.identity.keyId)) throw new KeyMismatchError(`${WHAT}: names other keys than epoch ${receipt.epoch}'s`);
  const { body, signature } = splitSigned(receipt.encoded);
  verifyBy(record.identity, RECEIPT_SIGNATURE, body, signature, WHAT); // 5
  if (receipt.epoch < chain.epoch) {
    const next = epochKeys(chain, receipt.epoch + 1); // 6
    if (receipt.openedAt > next.createdAt) {
      throw new KeyMismatchError(`${WHAT}: signed by the key of epoch ${receipt.epoch} after epoch ${receipt.epoch + 1} replaced it`);
    }
  }
  return receipt;
}

export interface ReceiptFields {
  dossierId: Uint8Array;
  openedAt: bigint;
  entries: ReceiptEntry[];
  receiptId?: Uint8Array;
}

/** Sign a receipt with the organisation epoch's keys `org`, for the member whose client opened the documents. */
export function sealReceipt(org: PrivateIdentity, chain: OrgChain, member: { userId: Uint8Array; keyId: Uint8Array }, f: ReceiptFields): Bytes {
  const entries = [...f.entries].sort(order);
  if (entries.length < 1 || entries.length > MAX_ENTRIES) throw new RangeError("a receipt has 1 to 100000 entries");
  const body = concat(
    ascii(MAGIC),
    Uint8Array.of(1),
    f.receiptId ?? randomBytes(ID_SIZE),
    chain.orgId,
    chain.fingerprintId,
    u32(org.public.keyVersion),
    org.public.keyId,
    member.userId,
    member.keyId,
    f.dossierId,
    u64(f.openedAt),
    u32(entries.length),
    ...entries.map((e) => concat(e.documentId, u64(e.version), e.payloadHash, e.headerHash)),
  );
  const encoded = concat(body, signWithLabel(org.signingSecretKey, RECEIPT_SIGNATURE, body));
  decodeReceipt(encoded);
  return encoded;
}
