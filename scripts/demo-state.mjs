/**
 * What the demo reads back from the nodes to check each step: a node's stored batches and
 * anchors (its state directory opened read-only, so the running daemon is never disturbed),
 * its daemon log lines, and a `check` that turns a broken expectation into a DemoFailure
 * naming what was expected and what was found.
 */
import { openStore } from "../dist/lib/store/index.js";
import { MESH_NAMESPACE } from "../dist/test/support/mesh.js";

/** A step's expectation that did not hold. */
export class DemoFailure extends Error {
  constructor(expected, found) {
    super(`expected ${expected}\n  found    ${found}`);
    this.name = "DemoFailure";
  }
}

/**
 * Throws a DemoFailure unless `ok`.
 * @example check(r.code === 0, "announce to exit 0", `exit ${r.code}`)
 */
export function check(ok, expected, found) {
  if (!ok) throw new DemoFailure(expected, typeof found === "function" ? found() : found);
}

/**
 * A node's view of the namespace: per batch id its receipt count and stored anchors.
 * An empty map when the node has stored nothing yet.
 * @example const view = await nodeView(mesh.node("b")); view.get("b-0001")?.anchors
 */
export async function nodeView(node) {
  const store = await openStore(node.stateDir, { readOnly: true }).catch(() => undefined);
  const view = new Map();
  if (store === undefined) return view;
  try {
    for (const b of store.listBatches(MESH_NAMESPACE)) {
      view.set(b.batchId, { batchRoot: b.batchRoot, receipts: b.receiptCount, anchors: await store.anchors(MESH_NAMESPACE, b.batchId) });
    }
    return view;
  } finally {
    await store.close();
  }
}

/**
 * Checks docs/FEDERATION_SEMANTICS.md §3. Conflicts on one node: the BTC anchor is the winner, the EVM and TSA anchors are
 * verified and superseded by it, and each stored anchor is the one the sealer wrote (same
 * chain, tx and block). Returns rows for a table.
 * @example const rows = await checkConvergence(mesh.node("c"), sealed)
 */
export async function checkConvergence(node, sealed) {
  const b = (await nodeView(node)).get(sealed.id);
  check(b !== undefined, `${node.name} to hold batch ${sealed.id}`, "no such batch in its state");
  check(b.batchRoot === sealed.root, `${node.name} to store root ${sealed.root}`, b.batchRoot);
  const winner = `${sealed.anchors[0].chain}/${sealed.anchors[0].tx}`;
  const rows = [];
  for (const want of sealed.anchors) {
    const got = b.anchors.find((a) => a.chain === want.chain && a.tx === want.tx);
    check(got !== undefined, `${node.name} to store anchor ${want.chain}/${want.tx}`, `anchors ${b.anchors.map((a) => `${a.chain}/${a.tx}`).join(", ")}`);
    check(got.block === want.block, `${want.chain} anchor at block ${want.block} on ${node.name}`, `block ${got.block}`);
    check(got.outcome === "verified", `${want.chain} anchor verified on ${node.name}`, `${got.outcome}${got.reason ? ` (${got.reason})` : ""}`);
    const isWinner = `${got.chain}/${got.tx}` === winner;
    check(isWinner ? got.superseded_by === undefined : got.superseded_by === winner, isWinner ? `${winner} to be the winner on ${node.name}` : `${got.chain} anchor superseded by ${winner} on ${node.name}`, `superseded_by ${got.superseded_by ?? "(none)"}`);
    rows.push([node.name, got.chain, got.tx.length > 20 ? `${got.tx.slice(0, 10)}…${got.tx.slice(-8)}` : got.tx, String(got.block), got.outcome, isWinner ? "winner" : `superseded by ${got.superseded_by.slice(0, 24)}…`]);
  }
  return rows;
}

/**
 * Polls until `node` holds `sealed` as checkConvergence expects (an import stores the
 * verified anchors first and the conflict resolution right after, so a look in between
 * sees no winner yet); on timeout throws the last unmet expectation. Returns its rows.
 * `stopping` ends the wait early (the demo was interrupted).
 * @example const rows = await waitForConvergence(mesh.node("c"), sealed, 30_000)
 */
export async function waitForConvergence(node, sealed, timeoutMs, stopping = () => false) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (stopping()) throw new DemoFailure(`${node.name} to hold ${sealed.id}`, "the demo was interrupted");
    try {
      return await checkConvergence(node, sealed);
    } catch (error) {
      if (!(error instanceof DemoFailure) || Date.now() > deadline) {
        error.message += `\n  (after waiting ${timeoutMs / 1000} s; last log lines of ${node.name}:\n${node.logs.slice(-6).join("\n")})`;
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
}

/**
 * The Announces a node's outbox holds for `peerDid` (read-only look at its state).
 * @example (await outboxFor(mesh.node("b"), "did:vm:node:c")).length
 */
export async function outboxFor(node, peerDid) {
  const store = await openStore(node.stateDir, { readOnly: true });
  try {
    const queue = await store.getDoc(`outbox/${peerDid}`);
    return Array.isArray(queue?.entries) ? queue.entries : [];
  } finally {
    await store.close();
  }
}

/**
 * How `node` learned batch `batchId`, from its log: a peer's Announce that it pulled, or an
 * anti-entropy round that found the gap. Empty when neither was logged.
 * @example learnedFrom(mesh.node("c"), "b-0001") // ["Announce from did:vm:node:b, pulled …"]
 */
export function learnedFrom(node, batchId) {
  return [
    ...logLines(node, /imported announced batch/).filter((e) => e.batch === batchId).map((e) => `Announce from ${e.from}: pulled ${e.batch} (${e.receipts} receipts), winner ${e.winner}`),
    ...logLines(node, /anti-entropy closed a gap/).map((e) => `anti-entropy with ${e.peer}: fetched ${e.fetched} receipts, imported ${e.imported}, ${e.bytes} bytes in ${e.roundTrips} round trips`),
  ];
}

/**
 * A node's daemon log lines (JSON) whose message matches `pattern`, parsed.
 * @example logLines(c, /anti-entropy closed a gap/)
 */
export function logLines(node, pattern) {
  return node.logs.flatMap((line) => {
    try {
      const entry = JSON.parse(line);
      return pattern.test(entry.msg) ? [entry] : [];
    } catch {
      return [];
    }
  });
}
