/**
 * A wider clock-skew window does not re-admit old messages
 * (docs/FEDERATION_PROTOCOL.md §Replay across restarts), on a real `serve`: a Request accepted under `clock_skew_s: 5` is refused
 * again once the node runs with `clock_skew_s: 300`, whether the skew was raised across a clean
 * restart, across a crash, or live by a SIGHUP reload. Each sequence signs as its own guest. A
 * Request changes nothing on the node, so "accepted again" is exactly a 200 where a 409 or 401 belongs.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { signMessage } from "../../lib/messages/authenticate.js";
import type { Request } from "../../lib/messages/schema.js";
import { MESH_NAMESPACE as NS, waitUntil, type Guest } from "../support/mesh.js";
import { useMesh } from "../support/use-mesh.js";

const mesh = useMesh([{ name: "a", routes: [] }], {
  guests: [
    { name: "clean", roles: ["request"] },
    { name: "crash", roles: ["request"] },
    { name: "other", roles: ["request"] },
    { name: "live", roles: ["request"] },
  ],
});

const NARROW_S = 5;
const WIDE_S = 300;
const now = () => Math.floor(Date.now() / 1000);

function request(g: Guest, ts: number, tag = "x"): Request {
  return signMessage<Request>({ type: "request", v: 2, namespace: NS, aud: mesh.node("a").did, want: [`sha256:${Buffer.from(tag.padEnd(32, "-")).toString("hex")}`], ts, signer: g.did }, g.key.privateKey);
}

async function send(m: Request): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${mesh.node("a").url}/federation/request`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(m) });
  const body = (await res.json()) as { error?: { code: string } };
  return body.error === undefined ? { status: res.status } : { status: res.status, code: body.error.code };
}

/** Sets `mesh.clock_skew_s` in node a's federation.yaml; a running node is reloaded with SIGHUP. */
async function setSkew(seconds: number): Promise<void> {
  const a = mesh.node("a");
  const file = join(a.configDir, "federation.yaml");
  await writeFile(file, (await readFile(file, "utf8")).replace(/clock_skew_s: \d+/, `clock_skew_s: ${seconds}`));
  if (!a.running) return;
  const reloads = () => a.logs.filter((l) => /SIGHUP: reloaded/.test(l)).length;
  const before = reloads();
  a.signal("SIGHUP");
  await waitUntil(() => reloads() > before, 15_000, "a reload");
}

/** Waits until `ts` is outside a window of `skewS` seconds. */
async function outside(ts: number, skewS: number): Promise<void> {
  await waitUntil(() => now() > ts + skewS + 1, (skewS + 10) * 1000, `ts ${ts} to leave the ${skewS} s window`);
}

async function restart(signal: NodeJS.Signals, skewS: number): Promise<void> {
  const a = mesh.node("a");
  const code = await a.stop(signal);
  if (signal === "SIGTERM") assert.equal(code, 0);
  await setSkew(skewS);
  await a.start();
}

describe("federation: raising clock_skew_s does not re-admit old messages", () => {
  test("replay after a wider skew: accepted, clean stop, clock_skew_s raised, start: the same message is refused", async () => {
    await restart("SIGTERM", NARROW_S);
    const m = request(mesh.guests.get("clean")!, now() - (NARROW_S - 1));
    assert.equal((await send(m)).status, 200);
    await mesh.node("a").stop("SIGTERM");
    await outside(m.ts, NARROW_S);
    await setSkew(WIDE_S);
    await mesh.node("a").start();
    const again = await send(m);
    assert.ok(again.status === 409 || again.status === 401, JSON.stringify(again));
    // A message signed now under the wider window is taken as usual.
    assert.equal((await send(request(mesh.guests.get("clean")!, now(), "fresh"))).status, 200);
  });

  test("replay after a wider skew: accepted, the horizon let go of it, kill -9, clock_skew_s raised, start: refused", async () => {
    await restart("SIGTERM", NARROW_S);
    const m = request(mesh.guests.get("crash")!, now() - (NARROW_S - 1));
    assert.equal((await send(m)).status, 200);
    // Another signer's message writes the horizon again once this one's entry is past the window, which drops that entry.
    await outside(m.ts + 10, NARROW_S);
    assert.equal((await send(request(mesh.guests.get("other")!, now()))).status, 200);
    await restart("SIGKILL", WIDE_S);
    assert.deepEqual(await send(m), { status: 401, code: "STALE_TIMESTAMP" });
  });

  test("replay after a wider skew: accepted, clock_skew_s raised by a live reload: refused", async () => {
    await restart("SIGTERM", NARROW_S);
    const g = mesh.guests.get("live")!;
    const m = request(g, now() - (NARROW_S - 1));
    assert.equal((await send(m)).status, 200);
    await outside(m.ts, NARROW_S);
    assert.deepEqual(await send(m), { status: 401, code: "STALE_TIMESTAMP" });
    await setSkew(WIDE_S);
    const again = await send(m);
    assert.ok(again.status === 409 || again.status === 401, JSON.stringify(again));
    assert.equal((await send(request(g, now(), "fresh"))).status, 200);
  });
});
