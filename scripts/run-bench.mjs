#!/usr/bin/env node
// `npm run bench`: runs every compiled benchmark (dist/bench/*.bench.js), each in its own
// `node --expose-gc` process so that one benchmark's heap and threads never weigh on the next,
// and prints ONE table (bench/table.ts) under a header naming the machine. Figures that matter
// are ratios against baselines measured in the same run: the machine is shared and noisy.
//   npm run bench                  every benchmark (a few minutes)
//   npm run bench -- store import  only benchmarks whose file name contains one of the words
//   npm run bench -- --quick       anti-entropy at n = 10^5 only (skips the 10^6 cases)
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = fileURLToPath(new URL("../dist/bench/", import.meta.url));
/** Table order (the order of docs/BENCHMARKS.md); any other benchmark follows, by name. */
const ORDER = ["cli", "messages", "import", "store", "reconcile", "convergence", "quorum", "catchup", "load"];

const fmt = (x) => x.toLocaleString("en");

/** store.bench.ts returns its own shape (StoreBenchResult); these are its rows. */
function storeRows(r) {
  const sizes = Object.keys(r.appendMs).map(Number).sort((a, b) => a - b);
  const big = sizes[sizes.length - 1];
  return {
    name: "store (one file per batch version, docs/STATE.md)",
    rows: [
      ...sizes.map((s) => ({ metric: `append a 1,000-receipt batch to a store of ${fmt(s)} receipts`, value: r.appendMs[s], unit: "ms", baseline: { name: "one lowdb JSONFile", value: r.singleFileAppendMs[s] } })),
      { metric: `append cost growth, ${fmt(big)} / empty: this store`, value: r.appendRatio, unit: "×", target: "≤ 1.5", met: r.appendRatio <= 1.5 },
      { metric: `append cost growth, ${fmt(big)} / empty: one lowdb JSONFile`, value: r.singleFileRatio, unit: "×" },
      { metric: `open ${fmt(r.openRssMiB.receipts)} receipts read-only: peak RSS`, value: r.openRssMiB.full, unit: "MiB", baseline: { name: "empty store", value: r.openRssMiB.empty } },
      { metric: `open ${fmt(r.openRssMiB.receipts)} receipts read-only: time`, value: r.openMs.full, unit: "ms", baseline: { name: "empty store", value: r.openMs.empty } },
    ],
  };
}

/** The targets of docs/ANTI_ENTROPY.md §Measured for n = 10^6, as text and as a check of one reconcile row. */
function reconcileTarget(x) {
  const cpu = Math.max(x.initiatorCpuMs, x.responderCpuMs);
  if (x.layout === "in sync") return { target: "1 RT, ≤ 400 B, ≤ 10 ms CPU/side", met: x.roundTrips === 1 && x.bytes <= 400 && cpu <= 10 };
  if (x.layout === "clustered") return { target: `≤ 3 RTs, ≤ 2,500 + 40·d = ${fmt(2500 + 40 * x.d)} B`, met: x.roundTrips <= 3 && x.bytes <= 2500 + 40 * x.d };
  if (x.d <= 10_000) return { target: `≤ 4 RTs, ≤ 300 B/diff = ${fmt(300 * x.d)} B`, met: x.roundTrips <= 4 && x.bytes <= 300 * x.d };
  return { target: "≤ 4 RTs, ≤ 16 MB, ≤ 2 s CPU/side", met: x.roundTrips <= 4 && x.bytes <= 16_000_000 && cpu <= 2000 };
}

/** reconcile.bench.ts returns ReconcileBenchResult; the table shows its largest n only. */
function reconcileRows(r) {
  const n = Math.max(...r.rows.map((x) => x.n));
  const spec = n === 1_000_000;
  const rows = r.rows
    .filter((x) => x.n === n)
    .map((x) => ({
      metric: `${x.layout}${x.d === 0 ? "" : ` d=${fmt(x.d)}`}: bytes, ${x.roundTrips} RT${x.roundTrips === 1 ? "" : "s"}, CPU ${Math.max(x.initiatorCpuMs, x.responderCpuMs).toFixed(0)} ms/side${x.exact ? "" : " — NOT EXACT"}`,
      value: x.bytes,
      unit: "B",
      baseline: { name: "naive id list (1 RT)", value: x.naiveBytes },
      ...(spec ? reconcileTarget(x) : {}),
    }));
  rows.push({ metric: `index build from ${fmt(n)} sorted keys`, value: r.buildMs[n], unit: "ms" });
  return { name: `anti-entropy (range reconciliation, n = ${fmt(n)})`, rows };
}

const ADAPT = { store: storeRows, reconcile: reconcileRows };

/** Child mode: import one benchmark, run it, write its raw figures as JSON to `out`. */
async function child(file, out, quick) {
  const mod = await import(pathToFileURL(join(dir, file)).href);
  const figures = await mod.run(file.startsWith("reconcile") ? { quick } : {});
  writeFileSync(out, JSON.stringify(figures));
}

function header() {
  let cpu = "unknown CPU";
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpu;
  } catch {
    // not Linux
  }
  return `node ${process.version}, ${cpu}, ${cpus().length} cores, ${new Date().toISOString()}`;
}

async function main(args) {
  const quick = args.includes("--quick");
  const filters = args.filter((a) => !a.startsWith("--"));
  const rank = (f) => (ORDER.indexOf(f.split(".")[0]) + ORDER.length + 1) % (ORDER.length + 1);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".bench.js") && (filters.length === 0 || filters.some((x) => f.includes(x))))
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  if (files.length === 0) {
    console.error(`no benchmark matched ${filters.join(" ") || "(all)"} in ${dir}`);
    return 1;
  }
  const { formatTable } = await import(pathToFileURL(join(dir, "table.js")).href);
  const tmp = mkdtempSync(join(tmpdir(), "vmsh-bench-"));
  const groups = [];
  let status = 0;
  const t0 = Date.now();
  console.log(header());
  try {
    for (const file of files) {
      const out = join(tmp, `${file}.json`);
      const started = Date.now();
      process.stderr.write(`running ${file}… `);
      const r = spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "--child", file, out, ...(quick ? ["--quick"] : [])], { stdio: "inherit" });
      process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      if (r.status !== 0) {
        status = r.status ?? 1;
        groups.push({ name: `${file}: FAILED (exit ${r.status ?? r.signal})`, rows: [] });
        continue;
      }
      const raw = JSON.parse(readFileSync(out, "utf8"));
      const adapt = ADAPT[file.split(".")[0]];
      groups.push(adapt ? adapt(raw) : raw);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`\n${formatTable(groups)}\n`);
  console.log(`total ${((Date.now() - t0) / 1000).toFixed(0)} s${quick ? " (--quick: anti-entropy at n = 10^5 only)" : ""}`);
  return status;
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") await child(argv[1], argv[2], argv.includes("--quick"));
else process.exitCode = await main(argv);
