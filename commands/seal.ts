/**
 * `vmsh-federation seal`: what the upstream sealer does, for a newcomer without its toolchain
 * (docs/FEDERATION_SEMANTICS.md §The sealer's files): files or event hashes become one batch
 * file and one receipt file per event, and with `--tsa URL` the root is stamped by an RFC 3161
 * authority and every receipt carries the token as upstream's anchor writer stores it
 * (docs/ANCHORS.md §Sealing with a TSA). `announce` takes the result as it is.
 */
import { createHash } from "node:crypto";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { Command } from "commander";
import { requestStamp } from "../lib/anchors/tsa/request.js";
import { isDigest } from "../lib/digest.js";
import { ArgumentError, UsageError, VmshError } from "../lib/errors.js";
import { TREE_KINDS, type TreeKind } from "../lib/receipt.js";
import { sealBatch } from "../lib/sealer/seal.js";
import type { CommandContext } from "./context.js";
import type { Printer } from "./output.js";

export interface SealOptions {
  eventHash?: string[];
  out?: string;
  id?: string;
  tree?: string;
  tsa?: string;
  tsaName?: string;
}

export interface SealResult {
  batchId: string;
  root: string;
  tree: TreeKind;
  size: number;
  createdAt: number;
  batchFile: string;
  receiptsDir: string;
  /** The anchor every receipt carries: the TSA's (chain, tx, genTime), or null for the sealer's placeholder. */
  anchor: { chain: string; tx: string; ts: number } | null;
}

const TSA_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** `sha256:<hex>` from `--event-hash`, with or without the prefix. */
function eventHash(text: string): string {
  const h = /^[0-9a-fA-F]{64}$/.test(text) ? `sha256:${text.toLowerCase()}` : text.toLowerCase();
  if (!isDigest(h)) throw new UsageError(`--event-hash: expected sha256:<64 hex digits>, got ${JSON.stringify(text.slice(0, 80))}`);
  return h;
}

async function hashFile(path: string): Promise<string> {
  try {
    return `sha256:${createHash("sha256").update(await readFile(path)).digest("hex")}`;
  } catch (cause) {
    throw new VmshError("SEALER_FILE_UNREADABLE", `${path}: cannot be read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
}

const exists = (p: string) => access(p).then(() => true, () => false);

export async function seal(ctx: CommandContext, files: readonly string[], options: SealOptions): Promise<SealResult> {
  const tree = (options.tree ?? "rfc9162-sha256") as TreeKind;
  if (!TREE_KINDS.includes(tree)) throw new UsageError(`--tree: expected ${TREE_KINDS.join(" or ")}, got ${JSON.stringify(options.tree)}`);
  const tsaName = options.tsaName ?? "tsa";
  if (!TSA_NAME.test(tsaName)) throw new UsageError(`--tsa-name: expected lower-case letters, digits, '.', '_' or '-', got ${JSON.stringify(tsaName)}`);
  if (options.tsa !== undefined && !/^https?:\/\/[^\s]+$/.test(options.tsa)) throw new UsageError(`--tsa: expected an http:// or https:// URL, got ${JSON.stringify(options.tsa)}`);
  const leaves = [...(await Promise.all(files.map((f) => hashFile(resolve(ctx.io.cwd, f))))), ...(options.eventHash ?? []).map(eventHash)];
  if (leaves.length === 0) throw new UsageError("nothing to seal: name files, or give --event-hash sha256:<hex> once per event");
  const createdAt = Math.floor(Date.now() / 1000);
  const id = options.id ?? String(createdAt);
  const outDir = resolve(ctx.io.cwd, options.out ?? "sealer");
  const batchFile = join(outDir, "batches", `${id}.json`);
  const receiptsDir = join(outDir, "receipts", id);
  if ((await exists(batchFile)) || (await exists(receiptsDir))) throw new UsageError(`${batchFile} or ${receiptsDir} already exists: batch ${id} is sealed; give another --id`);
  let sealed;
  try {
    sealed = sealBatch({ id, leaves, createdAt, tree });
  } catch (e) {
    // A repeated event or a bad id is the invocation's mistake.
    if (e instanceof ArgumentError) throw new UsageError(e.message.replace(/^leaves\[(\d+)\]/, (_m, i: string) => `event ${i}`), { cause: e });
    throw e;
  }
  let anchor: SealResult["anchor"] = null;
  if (options.tsa !== undefined) {
    // Stamped before anything is written: a TSA that fails leaves no half-sealed batch behind.
    const stamp = await requestStamp(options.tsa, sealed.batch.root);
    // Upstream's tsaWriter: the whole TimeStampResp in `sig`, genTime as `ts`, block 0, memo "".
    const written = { chain: `rfc3161:${tsaName}`, tx: "tsq:request.tsq", block: 0, ts: stamp.genTime, sig: Buffer.from(stamp.response).toString("base64"), memo: "" };
    sealed = sealBatch({ id, leaves, createdAt, tree, anchor: written });
    anchor = { chain: written.chain, tx: written.tx, ts: written.ts };
  }
  await mkdir(join(outDir, "batches"), { recursive: true });
  await mkdir(receiptsDir, { recursive: true });
  for (const { name, receipt } of sealed.receipts) await writeFile(join(receiptsDir, name), `${JSON.stringify(receipt, null, 2)}\n`);
  // The batch file last: a batch file names a complete batch.
  await writeFile(batchFile, `${JSON.stringify(sealed.batch, null, 2)}\n`);
  return { batchId: id, root: sealed.batch.root, tree, size: leaves.length, createdAt, batchFile, receiptsDir, anchor };
}

export function printSeal(out: Printer, r: SealResult, cwd: string): void {
  if (out.json) return out.document(r);
  const rel = (p: string) => (relative(cwd, p).startsWith("..") ? p : relative(cwd, p));
  out.line(`${out.color.green("Sealed")} batch ${out.color.bold(r.batchId)}: ${r.size} events, ${r.tree} root ${r.root}`);
  out.line(`  batch file: ${rel(r.batchFile)}`);
  out.line(`  receipts:   ${rel(r.receiptsDir)}/`);
  if (r.anchor === null) out.line(`  anchor:     none yet (the sealer's vm:internal placeholder): announce stores the batch held until an anchor verifies`);
  else out.line(`  anchor:     ${r.anchor.chain}, stamped ${new Date(r.anchor.ts * 1000).toISOString()}`);
  if (r.tree === "vmsh-dup-sha256") out.warn("vmsh-dup-sha256 has the duplicate-last-node ambiguity (docs/FEDERATION_SEMANTICS.md §2.1); use it only for tools that read nothing else");
  out.line();
  out.line("Next:");
  out.line(`  vmsh-federation announce --namespace <ns> --batch ${rel(r.batchFile)} --receipts ${rel(r.receiptsDir)}`);
}

export function sealCommand(run: (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>): Command {
  return new Command("seal")
    .description("seal files or event hashes into a batch and receipts in the upstream sealer's format, optionally stamped by a TSA")
    .argument("[files...]", "files whose SHA-256 are the events, in this order")
    .option("--event-hash <hash...>", "an event hash (sha256:<64 hex>) to seal; repeat or list several")
    .option("--out <dir>", "where batches/<id>.json and receipts/<id>/ are written", "sealer")
    .option("--id <id>", "batch id (default: the sealing time in unix seconds, as the upstream sealer names batches)")
    .option("--tree <rule>", "Merkle rule: rfc9162-sha256, or vmsh-dup-sha256 (the upstream sealer's, for its tools only)", "rfc9162-sha256")
    .option("--tsa <url>", "RFC 3161 time-stamp authority to stamp the root with (HTTP POST, application/timestamp-query)")
    .option("--tsa-name <name>", "the TSA's name in the anchor's chain, rfc3161:<name>; anchors.yaml may pin it (rfc3161.tsas.<name>)", "tsa")
    .addHelpText(
      "after",
      `
Each file's SHA-256 is one event (a leaf); --event-hash adds events by hash. The batch
file { id, root, leaves, createdAt } and one receipt file per event are written as the
upstream sealer writes them. Without --tsa every receipt carries the sealer's
"vm:internal" placeholder: announce then stores the batch held, since nothing anchors
it. With --tsa the root is stamped first (the query upstream's writer sends: SHA-256 of
the 32 root bytes, certificate requested, no nonce), and every receipt carries the
token; every node verifies it against its own anchors.yaml rfc3161 trust bundle. A TSA
that fails writes nothing (exit 1). Exit 2: an unreadable file, a bad hash, an event
given twice, or a batch id already sealed.

Example:
  $ vmsh-federation seal --tsa https://freetsa.org/tsr notes/*.txt
  Sealed batch 1760000000: 3 events, rfc9162-sha256 root sha256:…
  $ vmsh-federation announce --namespace dao:vaultmesh \\
      --batch sealer/batches/1760000000.json --receipts sealer/receipts/1760000000
  $ vmsh-federation seal --out /tmp/s --id b-0001 --event-hash sha256:$(sha256sum report.pdf | cut -c1-64)\n`,
    )
    .action(async (files: string[], opts: SealOptions) =>
      run(async (ctx) => {
        printSeal(ctx.out, await seal(ctx, files, opts), ctx.io.cwd);
        return 0;
      }),
    );
}
