/**
 * docs/ANCHORS.md §Evidence from tests: any single altered byte must not verify. Every byte of short minted
 * responses (no embedded certificate, no nonce; the certificates come through
 * options.intermediatesPem) is altered with three masks and verified again.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { verifyTimestampToken } from "../../../lib/anchors/tsa/index.js";
import { createOpensslTsa, type OpensslTsa } from "../../support/openssl-tsa.js";
import { flipped, statusByteOffset } from "./token-surgery.js";

const data = new TextEncoder().encode("flip me");
const MASKS = [0x01, 0x80, 0xff];
let tsa: OpensslTsa;

before(() => {
  tsa = createOpensslTsa();
});
after(() => tsa.cleanup());

describe("verifyTimestampToken: every single-byte alteration", () => {
  for (const [signer, essCertId] of [["rsa", "v2"], ["ecdsa", "v1"]] as const) {
    test(`verify: rejects every altered byte of a ${signer} response, except PKIStatus granted → grantedWithMods`, async () => {
      const response = tsa.mint(data, { signer, essCertId, embedCerts: false, noNonce: true });
      assert.ok(response.length < 800, `a short token, got ${response.length} bytes`);
      const options = { trustPem: tsa.rootPem, intermediatesPem: tsa.issuingPem + tsa.certPem(signer) };
      assert.equal((await verifyTimestampToken(response, { data }, options)).outcome, "verified");

      // The one accepted alteration, and why it does not change meaning: PKIStatus lies outside
      // the signed token (RFC 3161 §2.4.2), and 0 → 1 turns "granted" into "grantedWithMods",
      // which the RFC also defines as a response carrying a valid token. Nothing else is accepted.
      const status = statusByteOffset(response);
      assert.equal(response[status], 0);
      const accepted: string[] = [];
      const reasons = new Set<string>();
      for (let i = 0; i < response.length; i++) {
        for (const mask of MASKS) {
          const result = await verifyTimestampToken(flipped(response, i, mask), { data }, options);
          if (result.outcome === "verified") accepted.push(`${i}^${mask.toString(16)}`);
          else reasons.add(result.reason!.replace(/[0-9a-f]{16,}|\d+/g, "#"));
        }
      }
      assert.deepEqual(accepted, [`${status}^1`]);
      // The alterations fail at many different checks, not at one catch-all.
      assert.ok(reasons.size >= 8, [...reasons].join("\n"));
    });
  }
});
