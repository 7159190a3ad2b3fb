// The nemesis's partitions on real network namespaces (chaos/net.ts): a split drops packets between
// its groups, the next split replaces it, and `partition([])` ends it. Found by the full run's
// history: a partition's end left its drop rules in place until the heal, so each cycle's splits
// piled up. Needs root, `ip` and iptables like the short chaos run; skipped elsewhere, saying why.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cannotRun, need } from "../../chaos/preflight.js";
import { TestNet } from "../../chaos/net.js";

const why = cannotRun();
if (why !== undefined) console.log(`# chaos: the partition test is skipped: ${why}`);
let net: TestNet | undefined;
after(() => net?.destroy());

/** The addresses node `i` drops packets from, read back from iptables in its namespace. */
function drops(n: TestNet, i: number): string[] {
  const rules = execFileSync("ip", ["netns", "exec", n.nodes[i]!.ns, "iptables", "-w", "-S", "INPUT"], { encoding: "utf8" });
  return [...rules.matchAll(/-A INPUT -s (\S+?)(?:\/32)? -j DROP/g)].map((m) => m[1]!).sort();
}

test("chaos net: a partition drops between its groups, the next one replaces it, and partition([]) ends it", { skip: why === undefined ? false : `skipped: ${why}` }, () => {
  need("iptables", "iptables");
  // Owned by this test process: a run's stale-namespace cleanup keys on the owner's pid.
  net = new TestNet(process.pid, 3);
  net.create();
  const ip = (i: number) => net!.nodes[i]!.ip;

  net.partition([[0], [1, 2]]);
  assert.deepEqual([drops(net, 0), drops(net, 1), drops(net, 2)], [[ip(1), ip(2)].sort(), [ip(0)], [ip(0)]]);
  assert.deepEqual(net.describe(), { n0: "drops from n1,n2", n1: "drops from n0", n2: "drops from n0" });

  // The next split is the only one in place: n0 and n1 talk again.
  net.partition([[0, 1], [2]]);
  assert.deepEqual([drops(net, 0), drops(net, 1), drops(net, 2)], [[ip(2)], [ip(2)], [ip(0), ip(1)].sort()]);

  // Ended: nothing dropped anywhere, while a loss fault on n1 stays.
  net.setLoss(1, 0.1);
  net.partition([]);
  assert.deepEqual([drops(net, 0), drops(net, 1), drops(net, 2)], [[], [], []]);
  assert.deepEqual(net.describe(), { n1: "loss 10%" });
});
