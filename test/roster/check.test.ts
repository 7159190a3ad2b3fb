import { describe, test } from "node:test";
import type { NodeKey } from "../../lib/identity/keys.js";
import assert from "node:assert/strict";
import { admitRoster, checkSignatures, checkSuccession } from "../../lib/roster/check.js";
import { parseRoster } from "../../lib/roster/document.js";
import { rosterPayload } from "../../lib/roster/signature.js";
import { keys, line, NOW, signedBy, unsignedRoster } from "./fixtures.js";

const gov = keys(3);
const governance = { k: 2, keys: gov.map(line) };
const [a, b] = keys(2) as [NodeKey, NodeKey];
const members: Array<[string, NodeKey]> = [["did:vm:node:a", a!], ["did:vm:node:b", b!]];

describe("roster check: k distinct governance signatures, expiry, no rollback (docs/FEDERATION_PROTOCOL.md §Roster)", () => {
  test("roster check: accepts k valid signatures by distinct governance keys", () => {
    const r = checkSignatures(signedBy(unsignedRoster(1, members), [gov[0]!, gov[2]!]), governance);
    assert.deepEqual(r, { ok: true, signers: [line(gov[0]!), line(gov[2]!)] });
  });

  test("roster check: refuses k−1 signatures, saying how many held", () => {
    const r = checkSignatures(signedBy(unsignedRoster(1, members), [gov[0]!]), governance);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, "ROSTER_SIGNATURES");
    assert.match(!r.ok ? r.reason : "", /has 1 valid governance signature, needs 2/);
  });

  test("roster check: a signature by a key that is not a governance key does not count", () => {
    const r = checkSignatures(signedBy(unsignedRoster(1, members), [gov[0]!, a!]), governance);
    assert.equal(!r.ok && r.code, "ROSTER_SIGNATURES");
    assert.match(!r.ok ? r.reason : "", /not a governance key/);
  });

  test("roster check: one key signing twice counts once", () => {
    const r = checkSignatures(signedBy(unsignedRoster(1, members), [gov[1]!, gov[1]!]), governance);
    assert.equal(!r.ok && r.code, "ROSTER_SIGNATURES");
    assert.match(!r.ok ? r.reason : "", /counts once/);
  });

  test("roster check: the same key written in hex and base64url still counts once", () => {
    const signed = signedBy(unsignedRoster(1, members), [gov[1]!]);
    const hexLine = `ed25519:${Buffer.from(gov[1]!.publicKeyBytes).toString("hex")}`;
    const twice = { ...signed, sigs: [...signed.sigs, { key: hexLine, sig: signed.sigs[0]!.sig }] };
    assert.equal(checkSignatures(twice, governance).ok, false);
  });

  test("roster check: every flipped byte of the signed payload breaks the signatures", () => {
    const signed = signedBy(unsignedRoster(1, members), [gov[0]!, gov[1]!]);
    const text = JSON.stringify(signed);
    const payloadLength = rosterPayload(signed).length;
    let broken = 0;
    let tried = 0;
    // Every printable byte of the document outside `sigs`: a change either fails to parse or fails the signatures.
    const sigsAt = text.indexOf('"sigs"');
    for (let i = 0; i < sigsAt; i++) {
      const c = text.charCodeAt(i);
      const flipped = text.slice(0, i) + String.fromCharCode(c === 0x31 ? 0x32 : c ^ 0x01) + text.slice(i + 1);
      tried++;
      let json: unknown;
      try {
        json = JSON.parse(flipped);
      } catch {
        broken++;
        continue;
      }
      const p = parseRoster(json);
      if (!p.ok || !checkSignatures(p.roster, governance).ok) broken++;
    }
    assert.ok(payloadLength > 100);
    assert.equal(broken, tried, "no flipped byte left a valid roster");
  });

  test("roster check: refuses an expired roster, accepts it before expiry", () => {
    const roster = signedBy(unsignedRoster(1, members, { expiresAt: NOW }), gov);
    const late = admitRoster(undefined, roster, governance, NOW);
    assert.equal(!late.ok && late.code, "ROSTER_EXPIRED");
    assert.match(!late.ok ? late.reason : "", /expired at 1800000000/);
    assert.equal(admitRoster(undefined, roster, governance, NOW - 1).ok, true);
  });

  test("roster check: refuses a replayed older serial and a second document under the serial in force", () => {
    const one = signedBy(unsignedRoster(1, members), gov);
    const two = signedBy(unsignedRoster(2, members), gov);
    const r = admitRoster(two, one, governance, NOW);
    assert.equal(!r.ok && r.code, "ROSTER_ROLLBACK");
    assert.match(!r.ok ? r.reason : "", /serial 1 is older than serial 2 in force/);
    const other = signedBy(unsignedRoster(2, members.slice(0, 1)), gov);
    assert.equal(checkSuccession(two, other).ok, false);
    assert.deepEqual(checkSuccession(two, two), { ok: true, same: true });
    assert.deepEqual(checkSuccession(one, two), { ok: true, same: false });
  });

  test("roster check: a node without governance takes no roster", () => {
    const r = admitRoster(undefined, signedBy(unsignedRoster(1, members), gov), undefined, NOW);
    assert.equal(!r.ok && r.code, "ROSTER_NO_GOVERNANCE");
  });
});

describe("roster document: strict shape", () => {
  const ok = signedBy(unsignedRoster(1, members), gov);
  const cases: Array<[string, unknown, RegExp]> = [
    ["an unknown member", { ...ok, extra: 1 }, /unknown member "extra"/],
    ["another version", { ...ok, v: 2 }, /version 2 is not supported/],
    ["a member listed twice", { ...ok, members: [ok.members[0], ok.members[0]] }, /listed twice/],
    ["an unknown role", { ...ok, members: [{ ...ok.members[0], roles: ["admin"] }] }, /unknown role "admin"/],
    ["a bad key line", { ...ok, members: [{ ...ok.members[0], keys: { verify: "ed25519:xyz" } }] }, /keys\.verify/],
    ["a namespace naming a non-member", { ...ok, namespaces: { "dao:*": { members: ["did:vm:node:z"] } } }, /not a member/],
    ["a bad pattern", { ...ok, namespaces: { "dao*": {} } }, /not a namespace or a pattern/],
    ["an unknown select policy", { ...ok, namespaces: { "dao:*": { routing: { select: "best" } } } }, /select: expected one of/],
  ];
  for (const [what, value, reason] of cases)
    test(`roster document: refuses ${what}`, () => {
      const r = parseRoster(value);
      assert.equal(r.ok, false);
      assert.match(!r.ok ? r.reason : "", reason);
    });
});
