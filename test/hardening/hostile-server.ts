/**
 * A hostile peer's own endpoint for the hardening suite (docs/FEDERATION_SEMANTICS.md §6. Threat
 * model): an HTTP server on 127.0.0.1 (port 0) that records the Announces it is sent and answers
 * each Request with whatever the test put in `answers` for that batch id, signed with the `jose`
 * package (independent JOSE code, the hostile peer's own); `routes` answers other paths as a test
 * sets them. It answers nothing else.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as jose from "jose";
import type { Anchor } from "../../lib/anchors/anchor.js";
import { canonicalJson, messageDigest } from "../../lib/messages/canonical.js";
import type { Checkpoint } from "../../lib/messages/checkpoint.js";
import type { Announce, Bundle, Request } from "../../lib/messages/schema.js";
import type { Receipt } from "../../lib/receipt.js";
import { MESH_NAMESPACE as NS, type Guest, type MeshNode } from "../support/mesh.js";

export interface HostileAnswer {
  receipts: Receipt[];
  checkpoints: Checkpoint[];
  anchors: Anchor[];
}

export interface HostileServer {
  url: string;
  /** Announces received from the batch's origin itself, by batch id (the last one of each). */
  captured: Map<string, Announce>;
  /** What a Request for a batch id is answered with. */
  answers: Map<string, HostileAnswer>;
  /** Requests received, in order. */
  requests: Request[];
  /** Answers for other paths (`/health`, `/federation/topology`…), from the request body; checked first. */
  routes: Map<string, (text: string) => Promise<{ status: number; body: unknown }>>;
  close(): Promise<void>;
}

export const nowS = (): number => Math.floor(Date.now() / 1000);

/**
 * Signs a message as `signer` with jose's EdDSA (detached payload, docs/FEDERATION_PROTOCOL.md §Signatures).
 * @example const a = await joseSign<Announce>({ type: "announce", … }, guest.key, guest.did)
 */
export async function joseSign<M extends { sig?: string }>(message: Omit<M, "sig">, key: Guest["key"], signer: string): Promise<M> {
  const payload = new TextEncoder().encode(canonicalJson(message));
  const jws = await new jose.CompactSign(payload).setProtectedHeader({ alg: "EdDSA", kid: `${signer}#key-1` }).sign(key.privateKey);
  const [h, , s] = jws.split(".");
  return { ...(message as M), sig: `${h}..${s}` };
}

async function body(req: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text;
}

/**
 * Starts the server; `guest()` is read at each Request (the mesh that names the guest starts after the server).
 * @example const eve = await startHostileServer(() => mesh.guests.get("eve")!)
 */
export async function startHostileServer(guest: () => Guest): Promise<HostileServer> {
  const captured = new Map<string, Announce>();
  const answers = new Map<string, HostileAnswer>();
  const requests: Request[] = [];
  const routes: HostileServer["routes"] = new Map();
  const server: Server = createServer((req, res) => {
    void body(req).then(async (text) => {
      const route = routes.get(req.url ?? "");
      if (route !== undefined) {
        const r = await route(text);
        res.writeHead(r.status, { "content-type": "application/json" }).end(JSON.stringify(r.body));
        return;
      }
      if (req.url === "/federation/announce") {
        const a = JSON.parse(text) as Announce;
        // Only the origin's own Announce of a batch: relays of it by other nodes come later.
        if (a.signer === a.checkpoint.origin) captured.set(a.batchId, a);
        res.writeHead(202, { "content-type": "application/json" }).end('{"accepted":true}');
        return;
      }
      if (req.url === "/federation/request") {
        const request = JSON.parse(text) as Request;
        requests.push(request);
        const g = guest();
        const a = answers.get(request.batchId ?? "") ?? { receipts: [], checkpoints: [], anchors: [] };
        const bundle = await joseSign<Bundle>({ type: "bundle", v: 2, namespace: NS, aud: request.signer, request: messageDigest(request), ...a, ts: nowS(), signer: g.did }, g.key, g.did);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(bundle));
        return;
      }
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":"NOT_FOUND","message":"this hostile peer answers nothing else"}}');
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    captured,
    answers,
    requests,
    routes,
    // Nodes keep connections to it alive (an outbox retrying, keep-alive): close them too, or close() waits for them.
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/**
 * Sends `to` an Announce signed by `guest` (with jose); resolves the HTTP status.
 * @example await hostileAnnounce(eve, b, "b1", root, checkpoint, anchors) // 202
 */
export async function hostileAnnounce(guest: Guest, to: MeshNode, batchId: string, batchRoot: string, checkpoint: Checkpoint, anchors: Anchor[]): Promise<number> {
  const m = await joseSign<Announce>({ type: "announce", v: 2, namespace: NS, aud: to.did, batchId, batchRoot, checkpoint, anchors, ts: nowS(), signer: guest.did }, guest.key, guest.did);
  const res = await fetch(`${to.url}/federation/announce`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(m) });
  await res.text();
  return res.status;
}

/**
 * Sends `to` a Request signed by `guest` and returns the Bundle it answers (unchecked: the test reads it).
 * @example const bundle = await hostileRequest(eve, b, { want: [id] })
 */
export async function hostileRequest(guest: Guest, to: MeshNode, selector: Partial<Request>): Promise<Bundle> {
  const m = await joseSign<Request>({ type: "request", v: 2, namespace: NS, aud: to.did, ...selector, ts: nowS(), signer: guest.did } as Omit<Request, "sig">, guest.key, guest.did);
  const res = await fetch(`${to.url}/federation/request`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(m) });
  const answer = (await res.json()) as Bundle;
  if (res.status !== 200) throw new Error(`${to.name} answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer;
}
