import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ProtocolError } from "../../lib/errors.js";
import { parsePeerJson } from "../../lib/messages/json.js";
import { parseAnnounce, parseBundle, parseMessage, parseRequest } from "../../lib/messages/schema.js";
import { checkpointBy } from "../support/checkpoint.js";
import { announce, NOW, peer, RECEIVER, request, ROOT } from "./fixtures.js";

const a = peer("did:vm:node:a", ["announce", "request"]);
const H = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError && e.status === 400 && message.test(e.message), String(message));
}

const receipt = (over: Record<string, unknown> = {}, proof: Record<string, unknown> = {}) => ({
  id: H(1), namespace: "dao:vaultmesh", batchId: "b1", batchRoot: ROOT, eventHash: H(1), ts: NOW,
  proof: { tree: "vmsh-dup-sha256", index: 0, size: 2, path: [H(2)], ...proof }, ...over,
});
const CHECKPOINT = checkpointBy(a, { namespace: "dao:vaultmesh", batchId: "b1", batchRoot: ROOT, size: 2, createdAt: NOW, ts: NOW });
const bundle = (over: Record<string, unknown> = {}) => ({
  type: "bundle", v: 2, namespace: "dao:vaultmesh", aud: RECEIVER, request: H(9), checkpoints: [CHECKPOINT], receipts: [receipt()], anchors: [], ts: NOW, signer: a.did, sig: "aa..bb", ...over,
});

describe("schema: messages", () => {
  test("schema: parses valid announce, request and bundle into fresh objects", () => {
    const m = announce(a);
    assert.deepEqual(parseAnnounce(JSON.parse(JSON.stringify(m))), m);
    const r = request(a, { fromTs: 1, toTs: 2, want: [H(1)] });
    assert.deepEqual(parseRequest(JSON.parse(JSON.stringify(r))), r);
    assert.equal(parseBundle(bundle()).receipts.length, 1);
    assert.equal(parseMessage(JSON.parse(JSON.stringify(m))).type, "announce");
  });

  const announceCases: Array<[string, (m: Record<string, unknown>) => void, RegExp]> = [
    ["a wrong type", (m) => (m.type = "bundle"), /announce\.(type|request)/],
    ["a wrong version", (m) => (m.v = 4), /announce\.v: expected 2 or 3/],
    ["version 1 of 0.1.0", (m) => (m.v = 1), /announce\.v: message version 1 lacks the member checkpoint and aud; this node speaks version 2/],
    ["no checkpoint", (m) => delete m.checkpoint, /announce\.checkpoint: is missing/],
    ["a checkpoint of another batch", (m) => (m.checkpoint = { ...(m.checkpoint as object), batchId: "other" }), /announce\.checkpoint: is for another batch/],
    ["a checkpoint whose signer is not its origin", (m) => (m.checkpoint = { ...(m.checkpoint as object), signer: "did:vm:node:zz" }), /announce\.checkpoint\.signer: must equal origin/],
    ["an unknown member", (m) => (m.extra = 1), /unknown member "extra"/],
    ["a __proto__ member", (m) => Object.defineProperty(m, "__proto__", { value: { polluted: true }, enumerable: true }), /unknown member "__proto__"/],
    ["a constructor member", (m) => Object.defineProperty(m, "constructor", { value: { prototype: {} }, enumerable: true }), /unknown member "constructor"/],
    ["a string ts", (m) => (m.ts = "1750000000"), /announce\.ts: expected an integer/],
    ["a fractional ts", (m) => (m.ts = 1.5), /announce\.ts: expected an integer/],
    ["a negative ts", (m) => (m.ts = -1), /announce\.ts: expected 0 to/],
    ["unicode in the namespace", (m) => (m.namespace = "dao:vaultmésh"), /announce\.namespace: does not match/],
    ["a path in the namespace", (m) => (m.namespace = "dao/../../etc"), /announce\.namespace: does not match/],
    ["a path in the batch id", (m) => (m.batchId = "../state"), /announce\.batchId: does not match/],
    ["an upper-case root", (m) => (m.batchRoot = ROOT.toUpperCase()), /announce\.batchRoot/],
    ["no anchors", (m) => (m.anchors = []), /announce\.anchors: expected 1 to 16 items, got 0/],
    ["17 anchors", (m) => (m.anchors = Array(17).fill((m.anchors as unknown[])[0])), /expected 1 to 16 items, got 17/],
    ["an anchor for another batch", (m) => ((m.anchors as Record<string, unknown>[])[0]!.batchId = "other"), /anchors\[0\]: attests another batch/],
    ["an unknown chain", (m) => ((m.anchors as Record<string, unknown>[])[0]!.chain = "ltc:mainnet"), /anchors\[0\]\.chain/],
    ["a BTC anchor with an EVM tx hash", (m) => ((m.anchors as Record<string, unknown>[])[0]!.tx = `0x${"ab".repeat(32)}`), /anchors\[0\]\.tx: expected a Bitcoin txid/],
    ["a BTC anchor naming a contract", (m) => ((m.anchors as Record<string, unknown>[])[0]!.contract = `0x${"ab".repeat(20)}`), /anchors\[0\]\.contract: only EVM anchors/],
    ["a sig that is not a detached JWS", (m) => (m.sig = "abc.def.ghi"), /announce\.sig: does not match/],
    ["a signer that is not a DID", (m) => (m.signer = "node-a"), /announce\.signer: does not match/],
  ];
  for (const [name, mutate, message] of announceCases) {
    test(`schema: refuses an announce with ${name}`, () => {
      const m = JSON.parse(JSON.stringify(announce(a))) as Record<string, unknown>;
      mutate(m);
      rejects(() => parseAnnounce(m), message);
    });
  }

  test("schema: refuses a TSA anchor without its token or with a block", () => {
    const tsa = { batchId: "batch-0001", batchRoot: ROOT, chain: "rfc3161:freetsa", tx: "tsa-1", block: 0, ts: NOW };
    rejects(() => parseAnnounce({ ...JSON.parse(JSON.stringify(announce(a))), anchors: [tsa] }), /anchors\[0\]\.sig: a TSA anchor must carry/);
    rejects(() => parseAnnounce({ ...JSON.parse(JSON.stringify(announce(a))), anchors: [{ ...tsa, sig: "AAAA", block: 5 }] }), /anchors\[0\]\.block: a TSA anchor has block 0/);
  });

  test("schema: refuses a request with fromTs after toTs, duplicate or too many wants", () => {
    rejects(() => parseRequest({ ...request(a), fromTs: 10, toTs: 5 }), /fromTs 10 is after toTs 5/);
    rejects(() => parseRequest({ ...request(a), want: [H(1), H(1)] }), /want: holds the same id twice/);
    rejects(() => parseRequest({ ...request(a), want: Array.from({ length: 5001 }, (_, i) => H(i)) }), /want: expected 0 to 5000 items/);
    rejects(() => parseRequest({ ...request(a), want: ["nope"] }), /request\.want\[0\]/);
    // `origin` names one version of a root (docs/FEDERATION_PROTOCOL.md §Messages).
    rejects(() => parseRequest({ ...request(a), batchId: "b1", origin: a.did }), /request\.origin: needs batchRoot/);
    rejects(() => parseRequest({ ...request(a), batchId: "b1", batchRoot: ROOT, origin: "not a did" }), /request\.origin/);
    assert.equal(parseRequest({ ...request(a), batchId: "b1", batchRoot: ROOT, origin: a.did }).origin, a.did);
  });

  test("schema: refuses bundle receipts with index ≥ size, a long path, id ≠ eventHash or another namespace", () => {
    rejects(() => parseBundle(bundle({ receipts: [receipt({}, { index: 2, size: 2 })] })), /receipts\[0\]\.proof\.index: index 2 is outside a batch of 2 leaves/);
    rejects(() => parseBundle(bundle({ receipts: [receipt({}, { path: Array(65).fill(H(2)) })] })), /proof\.path: expected 0 to 64 items/);
    rejects(() => parseBundle(bundle({ receipts: [receipt({ id: H(3) })] })), /receipts\[0\]\.id: must equal eventHash/);
    rejects(() => parseBundle(bundle({ receipts: [receipt({ namespace: "dao:other" })] })), /is dao:other, the bundle is for dao:vaultmesh/);
    rejects(() => parseBundle(bundle({ checkpoints: [] })), /receipts\[0\]: no checkpoint in bundle\.checkpoints for batch b1/);
    rejects(() => parseBundle(bundle({ checkpoints: undefined, v: 1 })), /bundle\.v: message version 1 lacks the member checkpoints and aud/);
    rejects(() => parseBundle(bundle({ receipts: [receipt({}, { tree: "sha1" })] })), /proof\.tree: expected one of/);
  });

  test("schema: refuses an unknown message type", () => {
    rejects(() => parseMessage({ type: "reconcile2" }), /message\.type/);
    rejects(() => parseMessage(null), /message\.type/);
    rejects(() => parseMessage([]), /message\.type/);
  });
});

describe("json: parsing peer bodies", () => {
  test("json: refuses nesting deeper than the limit before parsing", () => {
    rejects(() => parsePeerJson("[".repeat(17) + "]".repeat(17)), /nested deeper than 16/);
    assert.deepEqual(parsePeerJson(`{"a":"${"[".repeat(100)}"}`), { a: "[".repeat(100) });
    rejects(() => parsePeerJson("[".repeat(200000)), /nested deeper/);
  });

  test("json: refuses bad syntax with a 400 and no stack in the message", () => {
    rejects(() => parsePeerJson("{'a':1}"), /body is not valid JSON/);
    rejects(() => parsePeerJson(""), /body is not valid JSON/);
  });

  test("json: a __proto__ key stays an own member and does not touch prototypes", () => {
    const v = parsePeerJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(v), ["__proto__"]);
  });
});
