/**
 * config/vmsh-federation.rules.yml, the alerting rules the package ships
 * (docs/FEDERATION_OPERATIONS.md §Alerting rules): `promtool check rules` accepts them, every
 * metric they read is one the daemon exports, and `promtool test rules` shows the rules that
 * matter on a fresh node firing from the series such a node exports.
 * promtool is the Debian package `prometheus`: installed here as root when missing, else the
 * test fails naming the package (never a quiet skip).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { Metrics } from "../../lib/federation/metrics.js";
import { repoRoot } from "../support/repo-root.js";

const RULES = join(repoRoot, "config", "vmsh-federation.rules.yml");
/** Metrics another change of this release adds (contested roots, docs/FEDERATION_SEMANTICS.md): allowed before it lands. */
/** Rendered beside Metrics by lib/federation/origin-log.ts (the node's own log), not by Metrics.render. */
const ORIGIN_LOG_METRICS = new Set(["vmsh_federation_log_size", "vmsh_federation_log_witnessed_size", "vmsh_federation_log_witnessed_lag", "vmsh_federation_log_forks", "vmsh_federation_unlogged_checkpoints"]);
let root: string;

function promtool(): string {
  if (spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0) return "promtool";
  if (process.getuid?.() === 0) {
    const r = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "prometheus"], { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status === 0 && spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0) return "promtool";
    assert.fail(`promtool is missing and apt-get install prometheus failed: ${r.stderr}`);
  }
  assert.fail("promtool is missing: install the Debian package prometheus (apt-get install prometheus) to check config/vmsh-federation.rules.yml");
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-rules-"));
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
    gauges: { outboxDepth: new Map(), lastSync: new Map() },
    quorum: new Map([["dao:vaultmesh", { final: 1, awaiting: 0, disputed: 0, contested: 0, witnessFaults: 0 }]]),
    extras: { routed: new Map([["did:vm:node:b", ["dao:vaultmesh"]]]), pendingOldestS: new Map([["dao:vaultmesh", 0]]), cliDeliveries: { ok: 0, failed: 0 } },
  });
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]!));
}

describe("alerting rules shipped in config/", () => {
  test("promtool check rules accepts config/vmsh-federation.rules.yml", () => {
    const r = spawnSync(promtool(), ["check", "rules", RULES], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test("every vmsh_federation_ metric a rule reads is one the daemon exports; the rules an operator needs are there", async () => {
    const doc = yaml.load(await readFile(RULES, "utf8")) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const names = exported();
    const rules = doc.groups.flatMap((g) => g.rules);
    for (const r of rules) for (const used of r.expr.match(/vmsh_federation_[a-z_]+/g) ?? []) assert.ok(names.has(used) || ORIGIN_LOG_METRICS.has(used), `${r.alert}: ${used} is not exported`);
    const alerts = rules.map((r) => r.alert);
    for (const a of ["VmshFederationDown", "VmshFederationMetricsAbsent", "VmshFederationSyncStale", "VmshFederationQuorumAwaitingTooLong", "VmshFederationAnchorsPendingTooLong", "VmshFederationContestedRoot", "VmshFederationEquivocation"]) assert.ok(alerts.includes(a), a);
    assert.equal(rules.find((r) => r.alert === "VmshFederationContestedRoot")!.expr, "vmsh_federation_contested_roots > 0");
  });

  test("a routed peer has its peer_up, last-sync and outbox series from the first scrape, 0 until it is reached", () => {
    const m = new Metrics();
    const render = () => m.render({ namespaces: 1, receipts: 0, batches: 0, equivocations: 0, anchors: { verified: 0, pending: 0, rejected: 0 } }, 1, {
      version: "0.0.0",
      gauges: { outboxDepth: new Map(), lastSync: new Map() },
      extras: { routed: new Map([["did:vm:node:b", ["dao:vaultmesh"]]]), pendingOldestS: new Map(), cliDeliveries: { ok: 0, failed: 0 } },
    });
    const fresh = render();
    assert.match(fresh, /^vmsh_federation_peer_up\{peer="did:vm:node:b"\} 0$/m);
    assert.match(fresh, /^vmsh_federation_outbox_depth\{peer="did:vm:node:b"\} 0$/m);
    assert.match(fresh, /^vmsh_federation_peer_last_sync_timestamp_seconds\{peer="did:vm:node:b",namespace="dao:vaultmesh"\} 0$/m);
    m.peerContact("did:vm:node:b", true);
    assert.match(render(), /^vmsh_federation_peer_up\{peer="did:vm:node:b"\} 1$/m);
  });

  test("promtool test rules: on a fresh node the stale-sync, awaiting, pending and absent rules fire", async () => {
    // The series a node exports from its first scrape (test/ops/metrics-live.test.ts shows them on a real serve).
    const unit = {
      rule_files: [RULES],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            { series: 'vmsh_federation_peer_last_sync_timestamp_seconds{job="vmsh-federation",instance="a",peer="did:vm:node:b",namespace="dao:vaultmesh"}', values: "0x120" },
            { series: 'vmsh_federation_uptime_seconds{job="vmsh-federation",instance="a"}', values: "0+60x120" },
            { series: 'vmsh_federation_quorum_awaiting_oldest_seconds{job="vmsh-federation",instance="a",namespace="dao:vaultmesh"}', values: "0+60x480" },
            { series: 'vmsh_federation_anchors_pending_oldest_seconds{job="vmsh-federation",instance="a",namespace="dao:vaultmesh"}', values: "0x10 660+60x480" },
          ],
          alert_rule_test: [
            { eval_time: "30m", alertname: "VmshFederationSyncStale", exp_alerts: [] },
            {
              eval_time: "75m",
              alertname: "VmshFederationSyncStale",
              exp_alerts: [{ exp_labels: { severity: "warn", job: "vmsh-federation", instance: "a", peer: "did:vm:node:b", namespace: "dao:vaultmesh" }, exp_annotations: { summary: "no sync with did:vm:node:b for dao:vaultmesh in over an hour" } }],
            },
            { eval_time: "5h", alertname: "VmshFederationQuorumAwaitingTooLong", exp_alerts: [] },
            {
              eval_time: "7h",
              alertname: "VmshFederationQuorumAwaitingTooLong",
              exp_alerts: [{ exp_labels: { severity: "warn", job: "vmsh-federation", instance: "a", namespace: "dao:vaultmesh" }, exp_annotations: { summary: "a batch of dao:vaultmesh has awaited its quorum for 7h 0m 0s (runbook: A batch stays awaiting)" } }],
            },
            {
              eval_time: "7h",
              alertname: "VmshFederationAnchorsPendingTooLong",
              exp_alerts: [{ exp_labels: { severity: "warn", job: "vmsh-federation", instance: "a", namespace: "dao:vaultmesh" }, exp_annotations: { summary: "an anchor of dao:vaultmesh has been pending for 7h 0m 0s: a verifier missing from anchors.yaml, an endpoint down, or confirmations that never come" } }],
            },
            { eval_time: "15m", alertname: "VmshFederationMetricsAbsent", exp_alerts: [{ exp_labels: { severity: "page", job: "vmsh-federation" }, exp_annotations: { summary: 'no vmsh-federation node has been scraped for 10 minutes (job "vmsh-federation")' } }] },
          ],
        },
      ],
    };
    const file = join(root, "unit.yml");
    await writeFile(file, yaml.dump(unit, { lineWidth: -1 }));
    const r = spawnSync(promtool(), ["test", "rules", file], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test("promtool test rules: an origin log whose head stays unwitnessed, and checkpoints that stay unlogged, fire after their hold", async () => {
    const unit = {
      rule_files: [RULES],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            // Lag 2 for three hours; a brief lag (the next head offer) never fires.
            { series: 'vmsh_federation_log_witnessed_lag{job="vmsh-federation",instance="a"}', values: "2x180" },
            { series: 'vmsh_federation_log_witnessed_lag{job="vmsh-federation",instance="b"}', values: "0 1 0x178" },
            { series: 'vmsh_federation_unlogged_checkpoints{job="vmsh-federation",instance="a",namespace="dao:vaultmesh"}', values: "3x180" },
          ],
          alert_rule_test: [
            { eval_time: "50m", alertname: "VmshFederationLogUnwitnessed", exp_alerts: [] },
            { eval_time: "70m", alertname: "VmshFederationLogUnwitnessed", exp_alerts: [{ exp_labels: { severity: "warn", job: "vmsh-federation", instance: "a" }, exp_annotations: { summary: "2 checkpoints of a's origin log have waited over an hour for a witnessed head (the log says which witness did not cosign)" } }] },
            { eval_time: "110m", alertname: "VmshFederationUnloggedCheckpoints", exp_alerts: [] },
            { eval_time: "130m", alertname: "VmshFederationUnloggedCheckpoints", exp_alerts: [{ exp_labels: { severity: "warn", job: "vmsh-federation", instance: "a", namespace: "dao:vaultmesh" }, exp_annotations: { summary: "3 checkpoints of dao:vaultmesh on a are in no witnessed head of their origin's log after 2 hours (verify-online --json .unlogged)" } }] },
          ],
        },
      ],
    };
    const file = join(root, "unit-log.yml");
    await writeFile(file, yaml.dump(unit, { lineWidth: -1 }));
    const r = spawnSync(promtool(), ["test", "rules", file], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test("the package ships config/ and the operations guide points at the file instead of carrying the rules", async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { files: string[] };
    assert.ok(pkg.files.includes("config/"));
    const ops = await readFile(join(repoRoot, "docs", "FEDERATION_OPERATIONS.md"), "utf8");
    assert.match(ops, /config\/vmsh-federation\.rules\.yml/);
    assert.doesNotMatch(ops, /^\s+- alert: /m, "no copy of the rules in Markdown to drift");
  });
});
