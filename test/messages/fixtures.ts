/** Signed test messages and an authentication context with injectable clock. */
import { generateNodeKey, type NodeKey } from "../../lib/identity/keys.js";
import { signMessage, type AuthenticateContext, type KnownPeer, type Role } from "../../lib/messages/authenticate.js";
import { ReplayCache } from "../../lib/messages/replay.js";
import type { Announce, Request } from "../../lib/messages/schema.js";
import { checkpointBy } from "../support/checkpoint.js";

export const NOW = 1_750_000_000;
/** The node the fixtures' messages are addressed to (`aud`), and the `self` of `context`. */
export const RECEIVER = "did:vm:node:receiver";
export const ROOT = `sha256:${"ab".repeat(32)}`;

export interface TestPeer {
  did: string;
  key: NodeKey;
  roles: Role[];
}

export function peer(did: string, roles: Role[]): TestPeer {
  return { did, key: generateNodeKey(), roles };
}

export function context(peers: TestPeer[], routes: Record<string, string[]>, now = NOW): AuthenticateContext & { clock: { now: number } } {
  const clock = { now };
  const map = new Map<string, KnownPeer>(peers.map((p) => [p.did, { did: p.did, roles: new Set(p.roles), publicKey: p.key.publicKey }]));
  return {
    clock,
    peers: map,
    isRouted: (ns, did) => routes[ns]?.includes(did) ?? false,
    now: () => clock.now,
    skewS: 300,
    self: RECEIVER,
    replay: new ReplayCache(),
  };
}

export function announce(from: TestPeer, overrides: Partial<Announce> = {}): Announce {
  const unsigned = {
    type: "announce" as const,
    v: 2 as const,
    namespace: "dao:vaultmesh",
    aud: RECEIVER,
    batchId: "batch-0001",
    batchRoot: ROOT,
    checkpoint: checkpointBy(from, { namespace: overrides.namespace ?? "dao:vaultmesh", batchId: overrides.batchId ?? "batch-0001", batchRoot: overrides.batchRoot ?? ROOT, ts: NOW }),
    anchors: [{ batchId: "batch-0001", batchRoot: ROOT, chain: "btc:regtest", tx: "cd".repeat(32), block: 101, ts: NOW - 60 }],
    ts: NOW,
    signer: from.did,
    ...overrides,
  };
  return signMessage<Announce>(unsigned, from.key.privateKey);
}

export function request(from: TestPeer, overrides: Partial<Request> = {}): Request {
  return signMessage<Request>({ type: "request", v: 2, namespace: "dao:vaultmesh", aud: RECEIVER, ts: NOW, signer: from.did, ...overrides }, from.key.privateKey);
}
