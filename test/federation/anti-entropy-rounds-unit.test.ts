// The anti-entropy scheduler on its own (lib/federation/anti-entropy-rounds.ts,
// docs/ANTI_ENTROPY.md §Rounds), with sessions that are functions: what it runs, and what a
// failure does to the next round. The same rules with real serve processes are in
// anti-entropy-rounds.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PeerConfig } from "../../lib/config/types.js";
import { AntiEntropyRounds, askedAgainAfterRestart, type SessionOutcome } from "../../lib/federation/anti-entropy-rounds.js";

const peer = (did: string): PeerConfig => ({ did, url: `http://127.0.0.1:9/${did}` }) as unknown as PeerConfig;
const NS = "dao:x";

function rounds(outcome: (did: string) => SessionOutcome, answeredRetry?: (r: SessionOutcome) => boolean) {
  const runs: string[] = [];
  const failed: Array<[string, number]> = [];
  let now = 1_000;
  const peers = [peer("did:vm:node:b"), peer("did:vm:node:c")];
  const r = new AntiEntropyRounds<SessionOutcome>({
    namespaces: () => [NS],
    select: () => peers,
    routed: () => peers,
    session: async (p) => {
      runs.push(p.did);
      return outcome(p.did);
    },
    probe: async () => false,
    intervalS: () => 5,
    now: () => now,
    failed: (p, _ns, _r, retryInS) => failed.push([p.did, retryInS]),
    ...(answeredRetry === undefined ? {} : { answeredRetry }),
    background: (work) => void work,
  });
  return { r, runs, failed, tick: (s: number) => (now += s) };
}

const RESTARTED = "did:vm:node:b answered /federation/reconcile with 401 STALE_TIMESTAMP: ts 1796666235 is before 1796666241: this node restarted after a crash and may have accepted messages from did:vm:node:a signed until then; sign the message again";

test("anti-entropy rounds: a peer that cannot be reached waits 2, then 4 intervals; the others are tried every round", async () => {
  const { r, runs, failed, tick } = rounds((did) => (did === "did:vm:node:b" ? { ok: false, error: "did:vm:node:b answered /federation/reconcile with no status CONNECT_TIMEOUT: …" } : { ok: true }));
  await r.round();
  tick(5);
  await r.round();
  tick(6);
  await r.round();
  assert.deepEqual(runs.filter((d) => d === "did:vm:node:c").length, 3);
  assert.deepEqual(failed, [["did:vm:node:b", 10], ["did:vm:node:b", 20]]);
});

// Found by the chaos run (docs/RELIABILITY.md §Chaos): after a SIGKILL and a quick restart, the
// peers' sessions were refused for a few seconds and each of them backed off for two intervals.
test("anti-entropy rounds: a peer that restarted after a crash and refuses messages signed before its floor is tried again at the next round, not after a back-off", async () => {
  let restarted = true;
  const { r, runs, failed, tick } = rounds((did) => (did === "did:vm:node:b" && restarted ? { ok: false, error: RESTARTED } : { ok: true }), askedAgainAfterRestart);
  await r.round();
  assert.deepEqual(failed, [["did:vm:node:b", 0]]);
  assert.equal(r.backoffs().size, 0);
  restarted = false;
  tick(5);
  await r.round();
  assert.deepEqual(runs.filter((d) => d === "did:vm:node:b").length, 2, "b tried again at the next round");
});

test("anti-entropy rounds: only a refusal for a restart's floor skips the back-off, not a clock outside the peer's window", () => {
  assert.equal(askedAgainAfterRestart({ ok: false, error: RESTARTED }), true);
  assert.equal(askedAgainAfterRestart({ ok: false, error: "did:vm:node:b answered /federation/reconcile with 401 STALE_TIMESTAMP: ts 1796666235 is 400 s from this node's clock (allowed ±300 s)" }), false);
  assert.equal(askedAgainAfterRestart({ ok: false, error: "reconcile reply from did:vm:node:b refused: ts 5 is before 9: this node restarted after a crash" }), false);
  assert.equal(askedAgainAfterRestart({ ok: true }), false);
});
