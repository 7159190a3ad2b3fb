/**
 * OriginLogService's inclusion answers (docs/FEDERATION_PROTOCOL.md §Origin log): a checkpoint is
 * shown in the earliest witnessed head that includes it, so its witnessed time is when the
 * witnesses first cosigned it, not the time of the latest head (what attribution weighs,
 * docs/FEDERATION_SEMANTICS.md §Origin logs). The witness is a second service in-process.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { signCheckpoint } from "../../lib/messages/checkpoint.js";
import { verifyLogged } from "../../lib/origin-log/logged.js";
import { OriginLogService } from "../../lib/origin-log/service.js";
import { checkpointDigest } from "../../lib/reconcile/version-items.js";

const A = "did:vm:node:a";
const W = "did:vm:node:w";
const aKey = generateNodeKey();
const wKey = generateNodeKey();
const cp = (i: number) => signCheckpoint({ namespace: "dao:x", origin: A, batchId: `b-${i}`, batchRoot: `sha256:${"2".repeat(63)}${i}`, tree: "rfc9162-sha256", size: 4, createdAt: 1_760_000_000 + i, ts: 1_760_000_000 + i }, aKey.privateKey);

describe("OriginLogService inclusion", () => {
  test("each checkpoint is shown in the earliest witnessed head including it, with that head's cosignature time", async () => {
    const root = await mkdtemp(join(tmpdir(), "vmsh-log-service-"));
    try {
      let clock = 1_760_000_100;
      const witness = new OriginLogService({ stateDir: join(root, "w"), did: W, key: wKey, logKeys: () => new Map([[A, aKey.publicKeyBytes]]), witnesses: () => [], now: () => clock, post: () => Promise.reject(new Error("unused")) });
      const origin = new OriginLogService({
        stateDir: join(root, "a"),
        did: A,
        key: aKey,
        logKeys: () => new Map(),
        witnesses: () => [{ did: W, url: "http://w.invalid", publicKey: wKey.publicKeyBytes }],
        now: () => clock,
        post: async (_url, body) => witness.addCheckpoint(body),
      });
      await (await origin.log()).append([cp(0)]);
      assert.deepEqual((await origin.requestCosignatures()).map((r) => r.outcome), ["cosigned"]);
      clock = 1_760_000_200;
      await (await origin.log()).append([cp(1)]);
      assert.deepEqual((await origin.requestCosignatures()).map((r) => r.outcome), ["cosigned"]);
      const trust = { originKey: aKey.publicKeyBytes, witnesses: new Map([[W, wKey.publicKeyBytes]]), k: 1 };
      const first = (await origin.inclusion(checkpointDigest(cp(0))))!;
      const second = (await origin.inclusion(checkpointDigest(cp(1))))!;
      assert.equal(first.witnessed, true);
      const r0 = verifyLogged(cp(0), first, trust);
      const r1 = verifyLogged(cp(1), second, trust);
      assert.deepEqual(r0.outcome === "verified" && [r0.size, r0.witnessedAt], [1, 1_760_000_100], "cp 0 in the head of size 1, cosigned at 100");
      assert.deepEqual(r1.outcome === "verified" && [r1.size, r1.witnessedAt], [2, 1_760_000_200]);
      // The latest head is still what /log/checkpoint serves.
      assert.match(await origin.checkpoint(), /\n2\n/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
