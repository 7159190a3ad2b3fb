/**
 * The chaos run's test network (docs/RELIABILITY.md §Chaos): a hub namespace holding a bridge,
 * and one network namespace per node joined to it by a veth pair. Everything the run starts lives
 * in these namespaces, so no packet leaves the machine. The nemesis's faults are applied here:
 * loss (iptables `statistic`), slow links (`tc tbf` on both ends of a node's veth), partitions
 * (iptables drops by source address) and links taken down.
 */
import { execFileSync } from "node:child_process";

/** The subnet of every run's bridge: each run has its own hub namespace, so runs never share it. */
const SUBNET = "10.199.0";
export const HUB_IP = `${SUBNET}.1`;

export interface NetNode {
  index: number;
  /** The node's network namespace. */
  ns: string;
  ip: string;
  /** The hub-side end of the node's veth pair (inside the hub namespace). */
  hubIf: string;
}

/** What is currently applied to one node's link. */
interface LinkFaults {
  loss: number;
  slowKbit: number;
  down: boolean;
  /** Addresses this node drops packets from (a partition). */
  blocked: Set<string>;
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Namespace names of runs whose process is gone: `vc<pid>-…`. */
export function staleNamespaces(): string[] {
  let listed = "";
  try {
    listed = run("ip", ["netns", "list"]);
  } catch {
    return [];
  }
  return listed
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((name) => {
      const m = /^vc(\d+)-/.exec(name);
      if (!m) return false;
      try {
        process.kill(Number(m[1]), 0);
        return false;
      } catch {
        return true;
      }
    });
}

/** Kills every process inside `ns` and deletes it. */
export function deleteNamespace(ns: string): void {
  try {
    for (const pid of run("ip", ["netns", "pids", ns]).split("\n").filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
  } catch {
    // no such namespace
  }
  try {
    run("ip", ["netns", "del", ns]);
  } catch {
    // already deleted
  }
}

export class TestNet {
  readonly hubNs: string;
  readonly nodes: NetNode[];
  readonly #faults = new Map<number, LinkFaults>();

  /** Names only: `create()` builds the namespaces. `owner` is the pid that owns them (stale-run cleanup). */
  constructor(owner: number, count: number) {
    this.hubNs = `vc${owner}-hub`;
    this.nodes = Array.from({ length: count }, (_, i) => ({ index: i, ns: `vc${owner}-n${i}`, ip: `${SUBNET}.${10 + i}`, hubIf: `vc${owner}h${i}` }));
    for (const n of this.nodes) this.#faults.set(n.index, { loss: 0, slowKbit: 0, down: false, blocked: new Set() });
  }

  create(): void {
    run("ip", ["netns", "add", this.hubNs]);
    run("ip", ["-n", this.hubNs, "link", "set", "lo", "up"]);
    run("ip", ["-n", this.hubNs, "link", "add", "br0", "type", "bridge"]);
    run("ip", ["-n", this.hubNs, "addr", "add", `${HUB_IP}/24`, "dev", "br0"]);
    run("ip", ["-n", this.hubNs, "link", "set", "br0", "up"]);
    for (const n of this.nodes) {
      run("ip", ["netns", "add", n.ns]);
      run("ip", ["-n", n.ns, "link", "set", "lo", "up"]);
      run("ip", ["-n", this.hubNs, "link", "add", n.hubIf, "type", "veth", "peer", "name", "eth0", "netns", n.ns]);
      run("ip", ["-n", this.hubNs, "link", "set", n.hubIf, "master", "br0", "up"]);
      run("ip", ["-n", n.ns, "addr", "add", `${n.ip}/24`, "dev", "eth0"]);
      run("ip", ["-n", n.ns, "link", "set", "eth0", "up"]);
    }
  }

  /** Kills what runs inside the namespaces and deletes them. Safe to call twice. */
  destroy(): void {
    for (const n of this.nodes) deleteNamespace(n.ns);
    deleteNamespace(this.hubNs);
  }

  /** Drops a fraction `p` of the packets node `i` receives (0 removes it). */
  setLoss(i: number, p: number): void {
    this.#faults.get(i)!.loss = p;
    this.#applyFilter(this.nodes[i]!);
  }

  /** Limits node `i`'s link to `kbit` kilobits per second in both directions (0 removes it). */
  setSlow(i: number, kbit: number): void {
    const f = this.#faults.get(i)!;
    const n = this.nodes[i]!;
    for (const [ns, dev] of [[this.hubNs, n.hubIf], [n.ns, "eth0"]] as const) {
      if (f.slowKbit > 0) run("ip", ["netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "root"]);
      if (kbit > 0) run("ip", ["netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", `${kbit}kbit`, "burst", "16kb", "latency", "400ms"]);
    }
    f.slowKbit = kbit;
  }

  /** Takes node `i`'s link down (or up again). */
  setDown(i: number, down: boolean): void {
    run("ip", ["-n", this.hubNs, "link", "set", this.nodes[i]!.hubIf, down ? "down" : "up"]);
    this.#faults.get(i)!.down = down;
  }

  /**
   * Splits the nodes into groups that cannot reach each other (nodes in no group keep every link).
   * It replaces the split before it: `partition([])` ends the one in place.
   */
  partition(groups: number[][]): void {
    for (const f of this.#faults.values()) f.blocked.clear();
    for (const g of groups) {
      const others = groups.filter((o) => o !== g).flat();
      for (const i of g) {
        const f = this.#faults.get(i)!;
        for (const o of others) f.blocked.add(this.nodes[o]!.ip);
      }
    }
    for (const n of this.nodes) this.#applyFilter(n);
  }

  /** Removes every fault. */
  heal(): void {
    for (const n of this.nodes) {
      const f = this.#faults.get(n.index)!;
      if (f.slowKbit > 0) this.setSlow(n.index, 0);
      if (f.down) this.setDown(n.index, false);
      f.loss = 0;
      f.blocked.clear();
      this.#applyFilter(n);
    }
  }

  /** A short description of what is applied now, for the history. */
  describe(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [i, f] of this.#faults) {
      const parts: string[] = [];
      if (f.loss > 0) parts.push(`loss ${Math.round(f.loss * 100)}%`);
      if (f.slowKbit > 0) parts.push(`tbf ${f.slowKbit}kbit`);
      if (f.down) parts.push("link down");
      if (f.blocked.size > 0) parts.push(`drops from ${[...f.blocked].map((ip) => `n${Number(ip.split(".")[3]) - 10}`).join(",")}`);
      if (parts.length > 0) out[`n${i}`] = parts.join("; ");
    }
    return out;
  }

  /** Rewrites node `n`'s INPUT chain from its recorded loss and partition. */
  #applyFilter(n: NetNode): void {
    const f = this.#faults.get(n.index)!;
    const ipt = (...args: string[]): string => run("ip", ["netns", "exec", n.ns, "iptables", "-w", ...args]);
    ipt("-F", "INPUT");
    for (const ip of f.blocked) ipt("-A", "INPUT", "-s", ip, "-j", "DROP");
    if (f.loss > 0) ipt("-A", "INPUT", "-m", "statistic", "--mode", "random", "--probability", f.loss.toFixed(3), "-j", "DROP");
  }
}
