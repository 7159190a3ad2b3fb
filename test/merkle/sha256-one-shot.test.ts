/**
 * `sha256` (lib/digest.ts) hashes its parts laid side by side in one call: the same digest as a
 * streaming hash of the parts, for short parts (laid in a shared scratch buffer) and long ones,
 * each result its own bytes (a later call does not change an earlier result), a plain Uint8Array.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { sha256 } from "../../lib/digest.js";

const streamed = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return Uint8Array.from(h.digest());
};

test("sha256 of 0, 1, 2 and 3 parts, short and past the scratch buffer, equals a streaming hash", () => {
  const shapes = [[], [0], [32], [1, 32], [32, 32], [1, 32, 32], [64, 64], [64, 65], [200], [100, 100], [0, 0, 5]];
  for (const lengths of shapes) {
    const parts = lengths.map((n) => new Uint8Array(randomBytes(n)));
    assert.deepEqual(sha256(...parts), streamed(...parts), `parts of ${lengths.join(", ")} bytes`);
  }
});

test("each result is its own plain Uint8Array: a later call changes no earlier result", () => {
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  const first = sha256(a, b);
  const copy = Uint8Array.from(first);
  const second = sha256(b, a);
  assert.deepEqual(first, copy);
  assert.notDeepEqual(first, second);
  assert.equal(Object.getPrototypeOf(first), Uint8Array.prototype);
  assert.equal(first.length, 32);
  assert.equal(first.buffer.byteLength, 32);
});
