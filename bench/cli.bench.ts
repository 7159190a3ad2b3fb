/**
 * Benchmark of what a user of the command line waits for, and of the idle daemon's memory:
 * whole-process wall time of `--help`, `status --json`, `init` and `announce` of a 100-receipt
 * batch with one TSA anchor, each against a bare `node -e 0` measured in the same run
 * (median of interleaved runs, so that load from other processes falls on all alike), and the
 * resident set of an idle `serve` against a bare node process that only waits.
 *
 *   npm run build && node dist/bench/cli.bench.js [--runs N]
 *
 * It measures what bin/vmsh-federation.js runs: the command bundles in dist/cli/ that `npm run build`
 * writes (docs/BENCHMARKS.md "Fifth pass: bundles"), or the tsc output when they are missing or older.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { BIN } from "../test/support/cli.js";
import { createOpensslTsa } from "../test/support/openssl-tsa.js";
import { sealTsaBatch } from "../test/support/sealer.js";
import { memoryOf } from "./process-memory.js";
import { formatTable, type BenchFigures } from "./table.js";

const NS = "dao:vaultmesh";

/**
 * An announce that stored its batch with a verified anchor but had no peer to send it to exits 1
 * (`announce --help`): the benchmark's node has no peers, so that is its success.
 */
function unannounced(r: { status: number | null; stdout: string }): boolean {
  return r.status === 1 && /, active\n/.test(r.stdout) && r.stdout.includes("Not announced: no peers are routed");
}

function wallMs(args: readonly string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", maxBuffer: 1 << 30 });
  const ms = performance.now() - t0;
  if (r.status !== 0 && !unannounced(r)) throw new Error(`${args.join(" ")} exited ${r.status ?? r.signal}: ${r.stderr}${r.stdout.slice(0, 2000)}`);
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Resident set of a process 2 s and 15 s after it said `ready` on stderr (or ran for a second),
 * then stopped. V8 gives memory back on its own some seconds into an idle spell (its memory
 * reducer), so the second figure is what a daemon left alone holds.
 */
async function idleRssMiB(args: readonly string[], ready: RegExp | undefined): Promise<{ early: number; settled: number }> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  try {
    await new Promise<void>((resolve, reject) => {
      let err = "";
      const timer = setTimeout(() => (ready === undefined ? resolve() : reject(new Error(`not ready in 30 s: ${err}`))), ready === undefined ? 1_000 : 30_000);
      child.stderr!.on("data", (b: Buffer) => {
        err += b.toString();
        if (ready?.test(err)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => reject(new Error(`exited ${code} before it was ready: ${err}`)));
    });
    // Let start-up garbage be collected as it would be on a daemon that has run a while.
    await new Promise((r) => setTimeout(r, 2_000));
    const early = memoryOf(child.pid!).rssMiB;
    await new Promise((r) => setTimeout(r, 13_000));
    return { early, settled: memoryOf(child.pid!).rssMiB };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

/** Whether bin/vmsh-federation.js will run the command bundles (the rule it applies: bundle present and not older than the tsc output). */
function bundlesRun(): boolean {
  const mtime = (p: string) => statSync(join(BIN, "..", "..", "dist", p), { throwIfNoEntry: false })?.mtimeMs;
  const built = mtime("cli/status/main.js");
  const compiled = mtime("commands/main.js");
  return built !== undefined && !(compiled !== undefined && compiled > built + 1000);
}

export async function run(options: { runs?: number } = {}): Promise<BenchFigures> {
  const runs = options.runs ?? 9;
  if (!bundlesRun()) console.error("cli.bench: no command bundles newer than the tsc output in dist/cli/: measuring the tsc output (npm run build writes them)");
  const dir = mkdtempSync(join(tmpdir(), "vmsh-bench-cli-"));
  const tsa = createOpensslTsa();
  try {
    const cfg = join(dir, "config");
    wallMs([BIN, "--config", cfg, "init", "--node-id", "did:vm:node:bench", "--listen", "127.0.0.1:0"]);
    // anchors.yaml trusting the test TSA, so announce verifies its anchor.
    writeFileSync(join(cfg, "tsa-root.pem"), tsa.rootPem);
    writeFileSync(join(cfg, "anchors.yaml"), "rfc3161:\n  trustBundle: tsa-root.pem\n");
    const batches = await Promise.all(Array.from({ length: runs }, (_, i) => sealTsaBatch(join(dir, "sealer"), `b-${i}`, 100, tsa)));
    const samples: Record<string, number[]> = { bare: [], help: [], status: [], init: [], announce: [] };
    for (let i = 0; i < runs; i++) {
      samples.bare!.push(wallMs(["-e", "0"]));
      samples.help!.push(wallMs([BIN, "--help"]));
      samples.status!.push(wallMs([BIN, "--config", cfg, "status", "--json"]));
      samples.init!.push(wallMs([BIN, "--config", join(dir, `init-${i}`), "init", "--node-id", "did:vm:node:x"]));
      const b = batches[i]!;
      samples.announce!.push(wallMs([BIN, "--config", cfg, "announce", "--namespace", NS, "--batch", b.batchFile, "--receipts", b.receiptsDir]));
    }
    const bare = { name: "node -e 0", value: median(samples.bare!) };
    const row = (metric: string, key: string, limit: number) => {
      const value = median(samples[key]!);
      return { metric, value, unit: "ms", baseline: bare, target: `≤ ${limit}× bare node`, met: value <= limit * bare.value };
    };
    const bareRss = await idleRssMiB(["-e", "setInterval(() => {}, 1000)"], undefined);
    const serveRss = await idleRssMiB([BIN, "--config", cfg, "serve"], /listening on/);
    return {
      name: `command line start and idle daemon (median of ${runs} runs, wall time)`,
      rows: [
        row("vmsh-federation --help", "help", 2),
        row("vmsh-federation status --json (no peers)", "status", 2),
        row("vmsh-federation init", "init", 2.5),
        row("vmsh-federation announce: 100 receipts, one TSA anchor", "announce", 3),
        { metric: "idle serve: resident set, 2 s after listening", value: serveRss.early, unit: "MiB", baseline: { name: "idle bare node", value: bareRss.early }, target: "≤ 1.5× bare node", met: serveRss.early <= 1.5 * bareRss.early },
        { metric: "idle serve: resident set, 15 s after listening", value: serveRss.settled, unit: "MiB", baseline: { name: "idle bare node", value: bareRss.settled }, target: "≤ 1.5× bare node", met: serveRss.settled <= 1.5 * bareRss.settled },
      ],
    };
  } finally {
    tsa.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--runs");
  console.log(formatTable([await run(at < 0 ? {} : { runs: Number(process.argv[at + 1]) })]));
}
