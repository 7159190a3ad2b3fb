import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { Metrics } from "../../lib/federation/metrics.js";
import { sectionBlocks } from "../docs/doc-blocks.js";

// docs/FEDERATION_OPERATIONS.md "Alerting rules": valid rules over metrics the daemon exports.
const DOC = "docs/FEDERATION_OPERATIONS.md";
const hasPromtool = spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0;
let root: string;
let rulesText: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-rules-"));
  const blocks = sectionBlocks(DOC, "### Alerting rules").filter((b) => b.lang === "yaml");
  assert.equal(blocks.length, 1);
  rulesText = blocks[0]!.body;
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every metric name a full /metrics page of the daemon can hold. */
function exported(): Set<string> {
  const m = new Metrics();
  m.message("announce", "accepted");
  m.verifyError("eip155", "unreachable");
  m.peerContact("did:vm:node:b", true);
  const text = m.render({ namespaces: 1, receipts: 1, batches: 1, equivocations: 0, anchors: { verified: 1, pending: 0, rejected: 0 } }, 5, {
    version: "0.0.0",
    gauges: { outboxDepth: new Map([["did:vm:node:b", 2]]), lastSync: new Map([["did:vm:node:b", { "dao:vaultmesh": 1 }]]) },
    quorum: new Map([["dao:vaultmesh", { final: 1, awaiting: 0, disputed: 0 }]]),
  });
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]!));
}

describe("alerting rules example", () => {
  test("every vmsh_federation_ metric an expression names is one the daemon exports", () => {
    const doc = yaml.load(rulesText) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const names = exported();
    for (const n of ["vmsh_federation_peer_up", "vmsh_federation_peer_last_sync_timestamp_seconds", "vmsh_federation_outbox_depth", "vmsh_federation_verify_errors_total", "vmsh_federation_build_info"]) assert.ok(names.has(n), n);
    const rules = doc.groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 5);
    for (const r of rules) for (const used of r.expr.match(/vmsh_federation_[a-z_]+/g) ?? []) assert.ok(names.has(used), `${r.alert}: ${used} is not exported`);
  });

  test("promtool check rules accepts it", { skip: !hasPromtool && "promtool is not installed" }, async () => {
    const file = join(root, "rules.yml");
    await writeFile(file, rulesText);
    const r = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
