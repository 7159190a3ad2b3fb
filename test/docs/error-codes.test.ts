// The error codes a node answers over HTTP are exactly those docs/FEDERATION_PROTOCOL.md lists,
// and the CLI's exit-code table (commands/exit-codes.ts) matches the README's promise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { EXPLORER_ERROR_CODES, WIRE_ERROR_CODES, type ErrorCode } from "../../lib/errors.js";
import { exitCodeFor } from "../../commands/exit-codes.js";
import { repoRoot } from "../support/repo-root.js";

/** Backticked UPPER_CASE words of the protocol document's "Verification order" and "Errors" sections. */
async function documentedWireCodes(): Promise<Set<string>> {
  const doc = await readFile(join(repoRoot, "docs", "FEDERATION_PROTOCOL.md"), "utf8");
  const sections = doc.split(/^## /m).filter((s) => /^(Verification order|Errors)\b/.test(s));
  assert.equal(sections.length, 2, "docs/FEDERATION_PROTOCOL.md has its Verification order and Errors sections");
  return new Set(sections.join("\n").match(/`[A-Z][A-Z_]+[A-Z]`/g)!.map((c) => c.slice(1, -1)));
}

test("errors: every code a node answers is documented, and every documented code is one it answers", async () => {
  const documented = await documentedWireCodes();
  assert.deepEqual([...WIRE_ERROR_CODES].sort(), [...documented].sort());
});

test("errors: every code the explorer answers is in docs/EXPLORER.md", async () => {
  const doc = await readFile(join(repoRoot, "docs", "EXPLORER.md"), "utf8");
  for (const code of EXPLORER_ERROR_CODES) assert.match(doc, new RegExp(`\`${code}\``), code);
});

test("errors: usage, configuration and local-file problems exit 2; failures exit 1", () => {
  const two: ErrorCode[] = ["CONFIG_INVALID", "USAGE", "KEY_EXISTS", "INIT_EXISTS", "SEALER_FILE_UNREADABLE", "SEALER_FILE_INVALID", "LISTEN_FAILED", "STATE_UNUSABLE", "DIR_UNUSABLE", "DIR_OWNER"];
  for (const c of two) assert.equal(exitCodeFor(c), 2, c);
  const one: ErrorCode[] = ["SIG_INVALID", "PEER_FAILED", "STATE_CORRUPT", "SEALER_RECEIPT_MISMATCH", "BATCH_ROOT_MISMATCH", "TSA_FAILED", "STATE_FORMAT_UNSUPPORTED"];
  for (const c of one) assert.equal(exitCodeFor(c), 1, c);
});
