/**
 * `stop()` of a mesh node is bounded (test/support/mesh.ts): a node that does not exit on its
 * stop signal is killed, its whole process group, after the grace period, and the kill is said
 * on stderr, so one stuck node cannot hang the suite.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { useMesh } from "./use-mesh.js";

const mesh = useMesh([{ name: "a", routes: [] }]);

describe("test harness: a mesh node that does not exit is killed", () => {
  test("mesh stop: a stopped (SIGSTOP) node is SIGKILLed after the grace period, with a message naming it", { timeout: 60_000 }, async () => {
    const a = mesh.node("a");
    // A frozen process cannot act on SIGTERM: exactly a node that does not exit.
    a.signal("SIGSTOP");
    const said: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void said.push(args.join(" "));
    let code: number | null | undefined;
    try {
      code = await a.stop("SIGTERM", 1_000);
    } finally {
      console.error = original;
    }
    assert.equal(code, null, "ended by a signal, not an exit code");
    assert.equal(a.running, false);
    assert.equal(said.length, 1, said.join("\n"));
    assert.match(said[0]!, /node a \(pid \d+\) did not exit within 1000 ms of its stop signal; killing its process group with SIGKILL/);
    // It can start again on the same state, as after any crash.
    await a.start();
    assert.equal((await a.health()).status, 200);
  });
});
