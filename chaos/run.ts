/**
 * `npm run chaos [-- --nodes N --minutes M --seed S]` (docs/RELIABILITY.md §Chaos): N real `serve`
 * processes, each in its own network namespace, under seeded faults while a workload announces
 * batches rail by rail; after every heal the checker waits for every node to hold the same items
 * and judges the whole history. Exit 0 when nothing diverged and no node ever reported a false
 * fact or lost an item, 1 otherwise, 2 when the run could not start (not root, a tool missing).
 *
 * The program runs twice: outside, it checks the machine, builds the network and re-runs itself
 * inside the hub namespace (so everything it starts, anvil and the Bitcoin endpoint included,
 * sits on the test network); inside, it runs the workload, the nemesis and the checker.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { repoRoot } from "../test/support/repo-root.js";
import { Checker, converged, describeDivergence } from "./checker.js";
import { createCluster, NAMESPACE, type ClusterNode } from "./cluster.js";
import { closeObservers, HistoryFile, isView, observe, type NodeView } from "./history.js";
import { deleteNamespace, HUB_IP, staleNamespaces, TestNet } from "./net.js";
import { cannotRun, need, UsageError } from "./preflight.js";
import { FAULT_KINDS, Nemesis } from "./nemesis.js";
import { convergenceSvg, type ConvergencePoint } from "./plot.js";
import { cpuSample, starvation, type CpuSample } from "./cpu.js";
import { Rng } from "./rng.js";
import { Workload } from "./workload.js";

export interface ChaosOptions {
  nodes: number;
  /** Length of the faulty part of the run. */
  seconds: number;
  seed: number;
  out: string;
  /** anti_entropy.interval_s of every node. */
  intervalS: number;
  /** Seconds of faults between two heals. */
  cycleS: number;
  /** Receipts sealed and spread before the first fault. */
  preload: number;
  /** Convergence bound after a heal, in anti-entropy intervals. */
  boundIntervals: number;
}

const USAGE = `usage: npm run chaos -- [--nodes N] [--minutes M | --seconds S] [--seed S] [--out DIR]
                      [--interval S] [--cycle S] [--preload N] [--bound-intervals K]

Runs N (default 7) vmsh-federation serve processes, each in its own network namespace, under
seeded faults (loss, slow links, partitions, SIGKILL, clock skew) while batches are announced
rail by rail; checks that after every heal all nodes converge within K (default 2) anti-entropy
intervals (--interval, default 10 s: anti_entropy.interval_s of every node) and that no node
ever reported a false fact or lost an item. Other defaults: --minutes 10, --cycle 60 (a quarter of shorter runs; a heal
ends each cycle), --preload 10000 receipts (2000 under 5 nodes), a random seed. Needs root and the
Debian packages iproute2, iptables and faketime (installed when missing). The run's history,
logs, summary.json and convergence.svg go to DIR (default chaos-runs/<time>-seed<S>).`;

function parseArgs(argv: string[]): ChaosOptions {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min || v > max) throw new UsageError(`--${name} takes a number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
    return v;
  };
  const known = new Set(["--nodes", "--minutes", "--seconds", "--seed", "--out", "--interval", "--cycle", "--preload", "--bound-intervals"]);
  for (let i = 0; i < argv.length; i += 2) if (!known.has(argv[i]!)) throw new UsageError(`unknown option ${JSON.stringify(argv[i])}`);
  const nodes = num("nodes", 7, 3, 12);
  const seconds = get("seconds") !== undefined ? num("seconds", 60, 10, 86_400) : num("minutes", 10, 0.5, 1440) * 60;
  const seed = num("seed", Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1);
  const out = resolve(get("out") ?? join(repoRoot, "chaos-runs", `${new Date().toISOString().replace(/[:.]/g, "-")}-seed${seed}`));
  return {
    nodes,
    seconds,
    seed,
    out,
    // 10 s: six times the default's pace (60 s). At 5 s, seven nodes on two cores spend the time
    // after a heal waiting for a CPU (docs/RELIABILITY.md §Figures), which the bound cannot tell from the protocol.
    intervalS: num("interval", 10, 1, 60),
    cycleS: num("cycle", Math.min(60, Math.max(15, Math.floor(seconds / 4))), 5, 3600),
    preload: num("preload", nodes >= 5 ? 10_000 : 2_000, 0, 1_000_000),
    boundIntervals: num("bound-intervals", 2, 1, 100),
  };
}

/** Outside: check the machine, build the network, run the inside half in the hub namespace. */
async function outside(argv: string[]): Promise<number> {
  let options: ChaosOptions;
  try {
    options = parseArgs(argv);
    const why = cannotRun();
    if (why !== undefined) throw new UsageError(`chaos: cannot run here: ${why}`);
    need("iptables", "iptables");
    need("tc", "iproute2");
    need("faketime", "faketime");
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(e.message);
    if (argv.includes("--help")) console.error(USAGE);
    return 2;
  }
  for (const ns of staleNamespaces()) deleteNamespace(ns);
  mkdirSync(options.out, { recursive: true });
  const net = new TestNet(process.pid, options.nodes);
  const cleanup = (): void => net.destroy();
  process.once("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    net.create();
    const self = fileURLToPath(import.meta.url);
    const child = spawn("ip", ["netns", "exec", net.hubNs, process.execPath, self, ...argv, "--out", options.out, "--seed", String(options.seed)], {
      stdio: "inherit",
      env: { ...process.env, VMSH_CHAOS_OWNER: String(process.pid) },
    });
    return await new Promise<number>((done) => child.once("exit", (code) => done(code ?? 1)));
  } finally {
    cleanup();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Transmitted bytes of every node's link so far (the cost of the run on the wire). */
function bytesOnWire(net: TestNet): number {
  let total = 0;
  for (const n of net.nodes) {
    const text = execFileSync("ip", ["-n", n.ns, "-s", "-j", "link", "show", "eth0"], { encoding: "utf8" });
    const parsed = JSON.parse(text) as Array<{ stats64?: { tx?: { bytes?: number } } }>;
    total += parsed[0]?.stats64?.tx?.bytes ?? 0;
  }
  return total;
}

/** Inside the hub namespace: workload, nemesis and checker. */
async function inside(argv: string[]): Promise<number> {
  const options = parseArgs(argv);
  const owner = Number(process.env.VMSH_CHAOS_OWNER);
  const net = new TestNet(owner, options.nodes);
  const rng = new Rng(options.seed);
  const history = new HistoryFile(join(options.out, "history.jsonl"));
  const log = (msg: string): void => console.log(`chaos ${new Date().toISOString().slice(11, 19)} ${msg}`);
  log(`seed ${options.seed}, ${options.nodes} nodes, ${options.seconds} s of faults in cycles of ${options.cycleS} s, anti-entropy every ${options.intervalS} s; out: ${options.out}`);
  history.write("start", { options });

  const workload = await Workload.start(join(options.out, "sealer"), HUB_IP);
  let nodes: ClusterNode[] = [];
  const points: ConvergencePoint[] = [];
  /** Each converged heal with the load average and the node processes' CPU waits meanwhile. */
  const heals: Array<{ heal: number; seconds: number; load: number; cpu?: ReturnType<typeof starvation> }> = [];
  const divergences: Array<{ heal: number; lines: string[] }> = [];
  const boundS = options.boundIntervals * options.intervalS;
  const checker = new Checker(workload.genuine, workload.bogus);
  const clockSkewS = 120;
  try {
    nodes = await createCluster({
      root: join(options.out, "nodes"),
      net: net.nodes,
      trustPem: workload.tsa.rootPem,
      anchorsYaml: workload.anchorsYaml(),
      antiEntropyIntervalS: options.intervalS,
      witnesses: Math.min(3, options.nodes),
      k: 2,
      clockSkewS,
    });
    await Promise.all(nodes.map((n) => n.start()));
    log("every node listening");
    const nemesis = new Nemesis(net, nodes, rng, history, Math.floor(clockSkewS / 4));

    /** Each node's scheduler statistics at the last observation (chaos/cpu.ts). */
    let lastCpu = new Map<string, CpuSample>();
    const observeAll = async (): Promise<NodeView[]> => {
      const views: NodeView[] = [];
      const cpu = new Map<string, CpuSample>();
      for (const n of nodes) {
        const c = cpuSample(n.pid);
        if (c !== undefined) cpu.set(n.name, c);
      }
      lastCpu = cpu;
      // The runner's own CPU too (its observer parses every changed batch file): load the harness adds.
      const runner = process.cpuUsage();
      history.write("cpu", { load: loadavg()[0], nodes: Object.fromEntries(cpu), runnerMs: Math.round((runner.user + runner.system) / 1000) });
      // All at once, so that the time to convergence is not late by a sequential sweep of every node.
      for (const v of await Promise.all(nodes.map((n) => observe(n)))) {
        history.view(v);
        if (isView(v)) {
          checker.observe(v);
          views.push(v);
        }
      }
      return views;
    };
    /** Polls until every node holds the same items; the seconds it took, or undefined past `giveUpS`. */
    const awaitConvergence = async (giveUpS: number): Promise<{ seconds: number; views: NodeView[] } | { views: NodeView[] }> => {
      const start = Date.now();
      for (;;) {
        const views = await observeAll();
        if (views.length === nodes.length && converged(views)) return { seconds: (Date.now() - start) / 1000, views };
        if (Date.now() - start > giveUpS * 1000) return { views };
        await sleep(500);
      }
    };

    // Preload: a deployment's worth of receipts from one origin before any fault.
    for (let left = options.preload; left > 0; left -= 2_500) await workload.seal(nodes, 0, Math.min(2_500, left));
    const pre = await awaitConvergence(300);
    if (!("seconds" in pre)) throw new Error(`the nodes did not converge on the preload without faults:\n${describeDivergence(pre.views).join("\n")}`);
    log(`preload of ${options.preload} receipts held by every node after ${pre.seconds.toFixed(1)} s`);

    const end = Date.now() + options.seconds * 1000;
    let heal = 0;
    while (Date.now() < end) {
      const cycleEnd = Math.min(end, Date.now() + options.cycleS * 1000);
      let nextObserve = 0;
      while (Date.now() < cycleEnd) {
        await nemesis.tick(Date.now(), 2, [3_000, Math.max(4_000, Math.floor((options.cycleS * 1000) / 2))]);
        // Now and then, kill a receiving node while the batch it is being sent is imported.
        const op = workload.step(nodes, rng, 120);
        if (rng.next() < 0.15) {
          const victim = rng.int(0, nodes.length - 1);
          await sleep(rng.int(50, 400));
          await nemesis.inject("kill-during-write", Date.now() + rng.int(2_000, 6_000), victim);
        }
        const done = await op;
        history.write("op", { ...done });
        if (Date.now() >= nextObserve) {
          await observeAll();
          nextObserve = Date.now() + 2_000;
        }
        await sleep(rng.int(200, 1_500));
      }
      heal++;
      await nemesis.healAll();
      log(`heal ${heal}: network whole, every node listening; waiting for convergence (bound ${boundS} s)`);
      const healedAt = Date.now();
      const cpuAtHeal = new Map([...nodes].flatMap((n) => {
        const c = cpuSample(n.pid);
        return c === undefined ? [] : [[n.name, c] as const];
      }));
      const loadAtHeal = loadavg()[0]!;
      const r = await awaitConvergence(Math.max(120, boundS * 10));
      if ("seconds" in r) {
        // How long the node processes waited for a CPU meanwhile: a late heal on a starved machine is told apart from a slow protocol.
        const cpu = starvation(cpuAtHeal, lastCpu, Date.now() - healedAt);
        points.push({ heal, seconds: r.seconds, converged: true });
        heals.push({ heal, seconds: r.seconds, load: Math.round(loadAtHeal * 10) / 10, ...(cpu === undefined ? {} : { cpu }) });
        history.write("converged", { heal, seconds: r.seconds, withinBound: r.seconds <= boundS, load: loadAtHeal, cpu });
        log(`heal ${heal}: converged after ${r.seconds.toFixed(1)} s${r.seconds <= boundS ? "" : ` (over the bound of ${boundS} s)`}; load ${loadAtHeal.toFixed(1)}${cpu === undefined ? "" : `, node processes waited for a CPU ${Math.round(cpu.meanWait * 100)} % of the time (at most ${Math.round(cpu.maxWait * 100)} %) and ran ${Math.round(cpu.meanRun * 100)} %`}`);
      } else {
        const lines = describeDivergence(r.views);
        points.push({ heal, seconds: Math.max(120, boundS * 10), converged: false });
        divergences.push({ heal, lines });
        history.write("diverged", { heal, lines });
        log(`heal ${heal}: NOT converged:\n  ${lines.join("\n  ")}`);
      }
    }

    // Final: what each node reports through its own command line, quorum states included.
    const reports = await Promise.all(nodes.map(async (n) => {
      const r = await n.cli(["verify-online", "--namespace", NAMESPACE, "--json"]);
      try {
        const parsed = JSON.parse(r.stdout) as { quorum?: Array<{ batchId: string; batchRoot: string; origin?: string; state: string }> };
        return (parsed.quorum ?? []).map((q) => `${q.batchId} ${q.batchRoot} ${q.origin ?? "-"} ${q.state}`).sort();
      } catch {
        return [`verify-online failed (exit ${r.code}): ${r.stderr.trim().slice(-200)}`];
      }
    }));
    const quorumAgrees = reports.every((r) => JSON.stringify(r) === JSON.stringify(reports[0]));
    if (!quorumAgrees) {
      const all = new Set(reports.flat());
      const lines = [...all].filter((l) => !reports.every((r) => r.includes(l))).slice(0, 8).map((l) => `${l}: only ${nodes.filter((_, i) => reports[i]!.includes(l)).map((n) => n.name).join(",")}`);
      divergences.push({ heal: heal + 1, lines: ["quorum states reported by verify-online differ:", ...lines] });
    }
    // Every announce the command line acknowledged must be held by every node.
    const finalViews = (await observeAll()).filter(isView);
    const acknowledged = workload.operations.filter((o) => o.code === 0);
    const missing = acknowledged.filter((o) => !finalViews.every((v) => v.checkpoints.some((c) => c.startsWith(`cp ${o.batch} `))));
    if (missing.length > 0) divergences.push({ heal: heal + 1, lines: missing.slice(0, 8).map((o) => `batch ${o.batch} announced by ${o.origin} (exit 0) is not held by every node`) });

    const seconds = points.filter((p) => p.converged).map((p) => p.seconds).sort((a, b) => a - b);
    const pct = (q: number): number | null => (seconds.length === 0 ? null : seconds[Math.min(seconds.length - 1, Math.floor(q * seconds.length))]!);
    const summary = {
      seed: options.seed,
      nodes: options.nodes,
      faultSeconds: options.seconds,
      antiEntropyIntervalS: options.intervalS,
      boundS,
      faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, nemesis.injected.get(k) ?? 0])),
      operations: { total: workload.operations.length, failed: workload.operations.filter((o) => o.code !== 0).length, byKind: Object.fromEntries(["seal", "evm", "btc", "false"].map((k) => [k, workload.operations.filter((o) => o.op === k).length])) },
      batches: workload.batches.length,
      receipts: finalViews[0]?.receipts ?? 0,
      claims: { genuine: workload.genuine.size, bogus: workload.bogus.size },
      heals: points.map((p) => ({ ...p, ...heals.find((h) => h.heal === p.heal) })),
      convergence: { p50: pct(0.5), p90: pct(0.9), max: seconds.at(-1) ?? null, overBound: points.filter((p) => !p.converged || p.seconds > boundS).length },
      bytesOnWire: bytesOnWire(net),
      quorumVersions: reports[0]?.length ?? 0,
      quorumAgrees,
      violations: checker.violations,
      divergences,
    };
    writeFileSync(join(options.out, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
    writeFileSync(join(options.out, "convergence.svg"), convergenceSvg(points, boundS, `vmsh-federation chaos: seed ${options.seed}, ${options.nodes} nodes, ${Math.round(options.seconds / 60)} min`));
    const failed = checker.violations.length > 0 || divergences.length > 0 || summary.convergence.overBound > 0;
    log(`faults: ${FAULT_KINDS.map((k) => `${k} ${nemesis.injected.get(k)}`).join(", ")}`);
    log(`${summary.operations.total} operations (${summary.operations.failed} failed), ${summary.batches} batches, ${summary.receipts} receipts, ${(summary.bytesOnWire / 1e6).toFixed(1)} MB on the wire`);
    log(`convergence after ${points.length} heals: p50 ${pct(0.5)?.toFixed(1)} s, p90 ${pct(0.9)?.toFixed(1)} s, max ${summary.convergence.max?.toFixed(1)} s, over the bound: ${summary.convergence.overBound}`);
    for (const v of checker.violations.slice(0, 10)) log(`VIOLATION ${v.kind} at ${v.node}: ${v.detail}`);
    for (const d of divergences) log(`DIVERGED (heal ${d.heal}):\n  ${d.lines.join("\n  ")}`);
    log(failed ? `FAILED; history, logs and summary in ${options.out}` : `passed; history, logs and summary in ${options.out}`);
    return failed ? 1 : 0;
  } finally {
    await closeObservers();
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    await workload.stop();
  }
}

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  console.log(USAGE);
} else if (process.env.VMSH_CHAOS_OWNER === undefined) {
  process.exit(await outside(argv));
} else {
  // Exits explicitly: a process a fault left behind in a namespace may still hold a pipe of ours;
  // the outside half kills everything in the namespaces once this returns.
  process.exit(
    await inside(argv).catch((e: Error) => {
      console.error(`chaos: ${e.stack ?? e.message}`);
      return 1;
    }),
  );
}
