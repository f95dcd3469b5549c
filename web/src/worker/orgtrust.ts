/**
 * An organisation as this browser trusts it (docs/client.md section 13.1, steps 1-5; the
 * Python client's directory.py `organisation`): its key chain verified against this browser's
 * pin, each record's author through section 3, its signed roster, the operator's recorded
 * fingerprint checked against the chain, and only then the pin raised. Sharing uses it to seal
 * to the current epoch (13.2), a rotation to check that a grant's key is one of the chain's, and
 * a member's organisation page and inbox (organisations.ts) before opening their memberships:
 * one pin per organisation on this browser, whichever screen saw it first.
 */

import { fromHex, toHex } from "../vault/bytes.js";
import { IntegrityError, KeyMismatchError, MalformedError } from "../vault/errors.js";
import { normaliseFingerprint } from "../vault/keys.js";
import { verifyChain, verifyRoster, type OrgChain, type Roster } from "../vault/organisation.js";
import { unb64 } from "./api.js";
import { UnverifiedKeyError } from "./errors.js";
import type { Kluis } from "./kluis.js";

export interface TrustedOrganisation {
  chain: OrgChain;
  /** The signed roster of every epoch (step 3), for a member's own keys (step 6, organisations.ts). */
  roster: Roster;
  /** Verified by the person on this device, or by the server's operator (whose fingerprint matched). */
  verified: boolean;
  verifiedBy: "you" | "operator" | null;
  /** The operator's recorded fingerprint is this chain's (whether or not the person compared it too). */
  operatorVerified: boolean;
  firstSeen: boolean;
}

function obj(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new MalformedError(`server answer: ${what} is not an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new MalformedError(`server answer: ${what} is not a list`);
  return value;
}

/** Fetch `@name` (or the organisation with id `orgId`) and verify it, in the order of 13.1. */
export async function trustedOrganisation(kluis: Kluis, ask: { name: string } | { orgId: string }): Promise<TrustedOrganisation> {
  const { memory } = kluis.session();
  const name = "name" in ask ? ask.name : null;
  const orgId = "orgId" in ask ? ask.orgId : null;
  const path = orgId === null ? `/organisations/by-name/${encodeURIComponent(name ?? "")}` : `/organisations/${orgId}`;
  const answer = obj(await kluis.api.call("GET", path), "organisation");
  const claimed = answer["org_id"];
  if (typeof claimed !== "string" || !/^[0-9a-f]{32}$/.test(claimed)) throw new MalformedError("server answer: organisation id");
  const pin = await memory.organisationPin(claimed);
  if (name !== null && pin === null) {
    const other = await memory.organisationNamed(name);
    if (other !== null && other !== claimed) {
      throw new UnverifiedKeyError(`the server now gives the name ${name} to another organisation than the one this device knows`); // 1
    }
  }
  // K2: an id this browser pinned as a person is never taken for an organisation.
  if ((await memory.pin(claimed)) !== null) throw new UnverifiedKeyError(`the server shows ${claimed.slice(0, 8)}, a person on this device, as an organisation`);
  const identityOf = async (userId: Uint8Array) => (await kluis.contactById(toHex(userId))).identity;
  const records = list(answer["records"], "records").map((r) => unb64(r, "record"));
  const chain = await verifyChain(records, {
    authorOf: identityOf,
    orgId: orgId === null ? null : fromHex(orgId),
    name,
    pin: pin === null ? null : { fingerprint: pin.fingerprint, epoch: pin.epoch, keyId: fromHex(pin.keyId), recordHashes: pin.recordHashes.map(fromHex) },
  }); // 2
  if (toHex(chain.orgId) !== claimed) throw new IntegrityError("server answer: the organisation's records name another id");
  if (name === null && pin === null) {
    // Asked by id (a member's page, the inbox): the name the chain gives must not be pinned to another id.
    const other = await memory.organisationNamed(chain.name);
    if (other !== null && other !== claimed) {
      throw new UnverifiedKeyError(`the server now gives the name ${chain.name} to another organisation than the one this device knows`); // 1
    }
  }
  const memberships = list(answer["memberships"], "memberships").map((m) => unb64(obj(m, "membership")["membership"], "membership"));
  const roster = await verifyRoster(chain, memberships, identityOf); // 3
  let operator = answer["verified_fingerprint"];
  if (operator !== null && operator !== undefined) {
    if (typeof operator !== "string") throw new MalformedError("server answer: verified_fingerprint");
    try {
      operator = normaliseFingerprint(operator);
    } catch {
      // compared as it is: it cannot match, and that is the failure below
    }
    if (operator !== chain.fingerprint) {
      throw new KeyMismatchError(`organisation ${chain.name} is marked verified with fingerprint ${String(operator)}, but the keys the server sent have fingerprint ${chain.fingerprint}`); // 4
    }
  }
  const mine = pin?.verified ?? false;
  await memory.saveOrganisationPin(claimed, {
    name: chain.name,
    fingerprint: chain.fingerprint,
    epoch: chain.epoch,
    keyId: toHex(chain.current.identity.keyId),
    recordHashes: chain.hashes.map(toHex),
    verified: mine,
  }); // 5
  const byOperator = typeof operator === "string";
  return { chain, roster, verified: mine || byOperator, verifiedBy: mine ? "you" : byOperator ? "operator" : null, operatorVerified: byOperator, firstSeen: pin === null };
}
