/**
 * The chaos run's nemesis (docs/RELIABILITY.md §Chaos): injects one seeded fault at a time on top
 * of those still active, each for a seeded duration, and heals everything on demand. Kinds:
 * packet loss, a slow link, a majority/minority partition, a ring split, a link taken down,
 * SIGKILL and restart (also while the node imports a batch), and a restart with a skewed clock
 * inside the accepted window. Network faults live in TestNet; process faults here.
 */
import type { ClusterNode } from "./cluster.js";
import type { HistoryFile } from "./history.js";
import type { TestNet } from "./net.js";
import type { Rng } from "./rng.js";

export const FAULT_KINDS = ["loss", "slow", "partition", "ring-split", "link-down", "kill", "kill-during-write", "skew"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

interface ActiveFault {
  kind: FaultKind;
  until: number;
  revert: () => Promise<void>;
}

export class Nemesis {
  readonly injected = new Map<FaultKind, number>(FAULT_KINDS.map((k) => [k, 0]));
  #active: ActiveFault[] = [];
  /** Restarts under way (a killed node comes back after its fault ends). */
  #restarts = new Set<Promise<void>>();

  constructor(
    readonly net: TestNet,
    readonly nodes: ClusterNode[],
    readonly rng: Rng,
    readonly history: HistoryFile,
    /** Largest clock offset given to a node, seconds (inside the nodes' accepted skew). */
    readonly maxSkewS: number,
  ) {}

  get activeCount(): number {
    return this.#active.length;
  }

  /** Ends the faults whose time is up; injects a new one when fewer than `max` are active. */
  async tick(now: number, max: number, durationMs: [number, number]): Promise<void> {
    for (const f of this.#active.filter((a) => a.until <= now)) {
      this.#active = this.#active.filter((a) => a !== f);
      await f.revert();
      this.history.write("fault-end", { fault: f.kind, net: this.net.describe() });
    }
    if (this.#active.length >= max) return;
    const kind = this.rng.pick(FAULT_KINDS.filter((k) => k !== "kill-during-write" && !this.#busy(k)));
    await this.inject(kind, now + this.rng.int(durationMs[0], durationMs[1]));
  }

  /** Faults of one network kind don't stack (one partition at a time). */
  #busy(kind: FaultKind): boolean {
    const exclusive: FaultKind[] = ["partition", "ring-split"];
    return exclusive.includes(kind) && this.#active.some((a) => exclusive.includes(a.kind));
  }

  async inject(kind: FaultKind, until: number, target?: number): Promise<void> {
    const n = this.nodes.length;
    const i = target ?? this.rng.int(0, n - 1);
    let revert: () => Promise<void> = async () => undefined;
    let detail: Record<string, unknown> = {};
    switch (kind) {
      case "loss": {
        const p = this.rng.pick([0.05, 0.1, 0.2, 0.35]);
        this.net.setLoss(i, p);
        revert = async () => this.net.setLoss(i, 0);
        detail = { node: `n${i}`, p };
        break;
      }
      case "slow": {
        const kbit = this.rng.pick([64, 256, 1024]);
        this.net.setSlow(i, kbit);
        revert = async () => this.net.setSlow(i, 0);
        detail = { node: `n${i}`, kbit };
        break;
      }
      case "partition": {
        // A minority (fewer than half) cut off from the majority.
        const order = this.rng.shuffle([...Array(n).keys()]);
        const minority = order.slice(0, this.rng.int(1, Math.max(1, Math.floor((n - 1) / 2))));
        const majority = order.filter((x) => !minority.includes(x));
        this.net.partition([minority, majority]);
        revert = async () => this.net.partition([]);
        detail = { minority: minority.map((x) => `n${x}`), majority: majority.map((x) => `n${x}`) };
        break;
      }
      case "ring-split": {
        // Two arcs of the ring: every node keeps some neighbours, the ring is cut in two places.
        const start = this.rng.int(0, n - 1);
        const len = this.rng.int(1, n - 1);
        const arc = Array.from({ length: len }, (_, k) => (start + k) % n);
        const rest = [...Array(n).keys()].filter((x) => !arc.includes(x));
        this.net.partition([arc, rest]);
        revert = async () => this.net.partition([]);
        detail = { arc: arc.map((x) => `n${x}`), rest: rest.map((x) => `n${x}`) };
        break;
      }
      case "link-down": {
        this.net.setDown(i, true);
        revert = async () => this.net.setDown(i, false);
        detail = { node: `n${i}` };
        break;
      }
      case "kill":
      case "kill-during-write": {
        const node = this.nodes[i]!;
        if (!node.running) return;
        await node.kill();
        revert = async () => this.#restart(node, node.skewS);
        detail = { node: node.name };
        break;
      }
      case "skew": {
        const node = this.nodes[i]!;
        const skew = this.rng.int(-this.maxSkewS, this.maxSkewS) || 1;
        await node.kill();
        this.#restart(node, skew);
        detail = { node: node.name, skewS: skew };
        // The clock stays skewed: drift is not healed, only the node's process is restarted.
        break;
      }
    }
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
    this.#active.push({ kind, until, revert });
    this.history.write("fault", { fault: kind, ...detail, net: this.net.describe() });
  }

  #restart(node: ClusterNode, skewS: number): Promise<void> {
    const p = node.start(skewS).catch((e: Error) => this.history.write("restart-failed", { node: node.name, error: e.message }));
    const tracked = p.then(() => undefined);
    this.#restarts.add(tracked);
    void tracked.finally(() => this.#restarts.delete(tracked));
    return tracked;
  }

  /** Ends every fault: the network whole again, every node running (clocks stay as they are). */
  async healAll(): Promise<void> {
    for (const f of this.#active) await f.revert();
    this.#active = [];
    this.net.heal();
    await Promise.all([...this.#restarts]);
    for (const node of this.nodes) if (!node.running) await this.#restart(node, node.skewS);
    const down = this.nodes.filter((n) => !n.running).map((n) => n.name);
    // A node that cannot start again is a finding about the machine or the build, not convergence.
    if (down.length > 0) throw new Error(`${down.join(", ")} could not be started again after the heal (see their serve.log)`);
    this.history.write("healed", { net: this.net.describe() });
  }
}
