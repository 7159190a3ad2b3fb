/**
 * A hostile admitted peer for the anti-entropy item tests (test/federation/item-anti-entropy.test.ts,
 * test/federation/claim-items.test.ts): it answers reconcile rounds from the index the test gives
 * it and every Request with whatever checkpoints and claims the test makes up, signed with its own
 * admitted key (docs/ANTI_ENTROPY.md §Attachment items). Loopback, port 0.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Anchor } from "../../lib/anchors/anchor.js";
import { reconcileOptions } from "../../lib/federation/sync.js";
import { signMessage } from "../../lib/messages/authenticate.js";
import { messageDigest } from "../../lib/messages/canonical.js";
import type { Checkpoint } from "../../lib/messages/checkpoint.js";
import { LIMITS } from "../../lib/messages/limits.js";
import { parseRequest, type Bundle, type Request } from "../../lib/messages/schema.js";
import { parseReconcile, reconcileParts, signReconcile } from "../../lib/reconcile/message.js";
import type { ReconcileIndex } from "../../lib/reconcile/reconcile-index.js";
import { respond } from "../../lib/reconcile/session.js";
import { body } from "./item-mesh.js";
import { MESH_NAMESPACE as NS, type Guest } from "./mesh.js";

/** What the peer holds and answers; the test changes it between sessions. */
export interface ItemPeerScript {
  /** Its reconcile index; until set, reconcile rounds get 404. */
  index?: ReconcileIndex;
  /** What any Request is answered with. */
  answer: { anchors: Anchor[]; checkpoints: Checkpoint[] };
  /** Called with each Request before it is answered. */
  onRequest?: (request: Request) => void;
}

export interface ItemPeer {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the peer; `guest` gives its admitted identity once the mesh exists (the mesh needs the URL first).
 * @example const peer = await startItemPeer(script, () => mallory); … await peer.close()
 */
export function startItemPeer(script: ItemPeerScript, guest: () => Guest): Promise<ItemPeer> {
  const server: Server = createServer((req, res) => {
    void body(req).then((text) => {
      const me = guest();
      const now = Math.floor(Date.now() / 1000);
      if (req.url === "/federation/reconcile" && script.index !== undefined) {
        const message = parseReconcile(JSON.parse(text), LIMITS.maxReconcilePayloadBytes);
        const r = respond(() => script.index, reconcileParts(message), reconcileOptions());
        if (!r.ok) throw new Error(r.reason);
        const reply = signReconcile({ aud: message.signer, round: message.round, parts: r.reply, ts: now, signer: me.did, request: messageDigest(message) }, me.key.privateKey);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply));
        return;
      }
      if (req.url === "/federation/request") {
        const request = parseRequest(JSON.parse(text));
        script.onRequest?.(request);
        const bundle = signMessage<Bundle>({ type: "bundle", v: 2, namespace: NS, aud: request.signer, request: messageDigest(request), receipts: [], ...script.answer, ts: now, signer: me.did }, me.key.privateKey);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(bundle));
        return;
      }
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":"NOT_FOUND","message":"this peer answers nothing else"}}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) }),
    ),
  );
}
