import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_FC_SEED, parseSeed } from "./property-seed.js";

describe("property seed: fixed by default, FC_SEED overrides, garbage is refused", () => {
  test("no variable, or an empty one, gives the fixed default", () => {
    assert.deepEqual(parseSeed({}), { seed: DEFAULT_FC_SEED, from: "default" });
    assert.deepEqual(parseSeed({ FC_SEED: " " }, ["FC_SEED"], 7), { seed: 7, from: "default" });
  });

  test("FC_SEED wins over the file's own default; the first named variable set wins", () => {
    assert.deepEqual(parseSeed({ FC_SEED: "42" }, ["FC_SEED"], 7), { seed: 42, from: "FC_SEED" });
    assert.deepEqual(parseSeed({ FC_SEED: "-5", HARDENING_SEED: "9" }, ["FC_SEED", "HARDENING_SEED"]), { seed: -5, from: "FC_SEED" });
    assert.deepEqual(parseSeed({ HARDENING_SEED: "9" }, ["FC_SEED", "HARDENING_SEED"]), { seed: 9, from: "HARDENING_SEED" });
  });

  test("a seed that is not a 32-bit integer is an error naming the variable", () => {
    for (const bad of ["abc", "1.5", "1e3", "2147483648", "-2147483649", "0x10", "12abc"]) {
      assert.throws(() => parseSeed({ FC_SEED: bad }), (e: Error) => e.message.startsWith(`FC_SEED=${JSON.stringify(bad)}: a fast-check seed must be an integer`), bad);
    }
  });
});
