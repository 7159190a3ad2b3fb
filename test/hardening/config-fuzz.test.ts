/**
 * Configuration fuzzing (docs/FEDERATION_OPERATIONS.md §Configuration reference): broken YAML, alias bombs, unsafe tags, and a value of the wrong
 * type at every key of the three files. Each gives an error naming the file and the key path,
 * never a stack trace, and the files are left byte-for-byte as they were; the CLI exits 2.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { propertySeed } from "../support/property-seed.js";
import yaml from "js-yaml";
import { ConfigError } from "../../lib/errors.js";
import { loadConfig } from "../../lib/config/load.js";
import { keyPath } from "../../lib/config/problems.js";
import { formatKeyLine } from "../../lib/identity/did.js";
import { runCli } from "../support/cli.js";
import { repoRoot } from "../support/repo-root.js";
import { diffTrees, snapshotTree } from "./state-snapshot.js";

const SEED = propertySeed();

type FileName = "federation.yaml" | "peers.yaml" | "anchors.yaml";
type Path = Array<string | number>;

const KEY = formatKeyLine(new Uint8Array(32).fill(7));
const STACK = /\n\s+at |node:internal|\.[cm]?[jt]s:\d+/;
const VALID: Readonly<Record<FileName, unknown>> = {
  "federation.yaml": {
    mesh: { node_id: "did:vm:node:a", listen: { http: "127.0.0.1:8088" }, key_file: "keys/node.key", state_dir: "../state", clock_skew_s: 300 },
    namespaces: { "dao:vaultmesh": { peers: ["did:vm:node:b"], verify: { evm_confirmations: 3, btc_confirmations: 1 }, limits: { max_announce_rate_per_min: 60, max_request_rate_per_min: 60 } } },
    anti_entropy: { interval_s: 60 },
  },
  "peers.yaml": { peers: [{ did: "did:vm:node:b", url: "http://127.0.0.1:9000", roles: ["announce", "serve"], keys: { verify: KEY } }] },
  "anchors.yaml": { eip155: { "1": { rpcUrl: "http://127.0.0.1:8545", contract: `0x${"ab".repeat(20)}` } }, btc: { regtest: { rpcUrl: "http://u:p@127.0.0.1:18443" } }, rfc3161: { trustBundle: "certs/tsa.pem" } },
};
const FILES = Object.keys(VALID) as FileName[];
const TSA_PEM = readFileSync(join(repoRoot, "config", "certs", "tsa-bundle.pem"), "utf8");

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmsh-config-fuzz-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every key path of `value` with the kind of value found there. */
function keyPaths(value: unknown, path: Path = []): Array<{ path: Path; kind: string }> {
  const kind = Array.isArray(value) ? "list" : value === null ? "null" : typeof value === "object" ? "mapping" : Number.isInteger(value) ? "integer" : typeof value;
  const here = path.length > 0 ? [{ path, kind }] : [];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => keyPaths(v, [...path, i]))];
  if (kind === "mapping") return [...here, ...Object.entries(value as object).flatMap(([k, v]) => keyPaths(v, [...path, k]))];
  return here;
}

function setAt(doc: unknown, path: Path, v: unknown): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path[path.length - 1]!] = v;
  return copy;
}

/** Values never of `kind` (and never null, which means "absent, use the default"). */
function wrongFor(kind: string): fc.Arbitrary<unknown> {
  return fc
    .oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.string({ minLength: 1 }), fc.array(fc.string(), { minLength: 1, maxLength: 3 }), fc.dictionary(fc.string({ minLength: 1 }), fc.integer(), { minKeys: 1, maxKeys: 3 }))
    .filter((v) => {
      const k = Array.isArray(v) ? "list" : typeof v === "object" ? "mapping" : Number.isInteger(v) ? "integer" : typeof v;
      return k !== kind;
    });
}

/** Writes the three files (one replaced by `text`), loads them, and returns the error or undefined. */
async function loadWith(file: FileName, text: string, sub = "case"): Promise<{ error: unknown; changed: string[] }> {
  const d = join(dir, sub);
  await rm(d, { recursive: true, force: true });
  await mkdir(join(d, "certs"), { recursive: true });
  // anchors.yaml names this trust bundle, and loading reads it (docs/ANCHORS.md §TSA names).
  await writeFile(join(d, "certs", "tsa.pem"), TSA_PEM);
  for (const f of FILES) await writeFile(join(d, f), f === file ? text : yaml.dump(VALID[f]));
  const before0 = await snapshotTree(d);
  let error: unknown;
  try {
    await loadConfig(d, {});
  } catch (e) {
    error = e;
  }
  return { error, changed: diffTrees(before0, await snapshotTree(d)) };
}

function assertConfigError(error: unknown, file: FileName, context: string): ConfigError {
  assert.ok(error instanceof ConfigError, `${context}: expected a ConfigError, got ${String(error)}`);
  assert.ok(error.problems.length > 0);
  for (const p of error.problems) assert.match(p, /^(federation|peers|anchors)\.yaml: /, `${context}: a problem not naming its file: ${p}`);
  assert.ok(error.problems.some((p) => p.startsWith(`${file}: `)), `${context}: no problem names ${file}: ${error.problems.join(" | ")}`);
  assert.doesNotMatch(error.message, STACK);
  return error;
}

const BILLION_LAUGHS = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
mesh: *h
`;
/** Hostile YAML; `true` where every file must refuse it, `false` where a file may load it with warnings (the key is unknown there). */
const HOSTILE_YAML: ReadonlyArray<[string, string, boolean]> = [
  ["an alias bomb", BILLION_LAUGHS, true],
  ["an alias bomb under an unknown key", BILLION_LAUGHS.replace("mesh: *h", "junk: *h"), true],
  ["a JavaScript function tag", "mesh: !!js/function 'function () { return 1 }'\n", true],
  ["an unknown tag", "mesh: !secret x\n", true],
  ["duplicate keys", "mesh: {}\nmesh: {}\n", true],
  ["tabs for indentation", "mesh:\n\tnode_id: x\n", true],
  ["an unclosed flow mapping", "mesh: { node_id: did:vm:node:a\n", true],
  ["a document stream", "mesh: {}\n---\nmesh: {}\n", true],
  ["a bare scalar", "just text\n", true],
  ["a list at the root", "- 1\n- 2\n", true],
  ["NUL bytes", "mesh:\u0000 {}\n", true],
  // Merge keys copy members, so nothing is shared and nothing explodes: loading is allowed.
  ["a merge key pulling in an alias", "base: &b { node_id: did:vm:node:a }\nmesh:\n  <<: *b\n", false],
  ["a __proto__ key", "__proto__: { polluted: true }\nmesh: { __proto__: { node_id: x } }\n", false],
  ["a merge key with __proto__", "p: &p { __proto__: { polluted: true } }\nmesh:\n  <<: *p\n", false],
  ["a binary blob", "mesh: !!binary AAAA\n", false],
  ["deep nesting", `mesh: ${"[".repeat(5000)}${"]".repeat(5000)}\n`, false],
];

describe("hardening: configuration fuzzing", () => {
  test("config fuzz: a value of the wrong type at any key of any file is an error naming the file and that key", async () => {
    const cases = FILES.flatMap((file) => keyPaths(VALID[file]).map((k) => ({ file, ...k })));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...cases).chain((c) => fc.tuple(fc.constant(c), wrongFor(c.kind))), async ([c, value]) => {
        const text = yaml.dump(setAt(VALID[c.file], c.path, value));
        const { error, changed } = await loadWith(c.file, text);
        const e = assertConfigError(error, c.file, `${c.file} ${keyPath(c.path)} = ${JSON.stringify(value)}`);
        // The problem is reported at the key itself or at a key inside it (a required member now missing).
        const prefix = `${c.file}: ${keyPath(c.path)}`;
        assert.ok(e.problems.some((p) => p.startsWith(prefix)), `no problem at ${prefix}: ${e.problems.join(" | ")}`);
        assert.deepEqual(changed, []);
      }),
      { numRuns: 250, seed: SEED },
    );
  });

  test("config fuzz: random and broken YAML text in any file is refused naming the file, or loads; never a stack, never a write", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FILES), fc.oneof(fc.string({ unit: "binary", maxLength: 300 }).map((t) => `mesh: ${t}`), fc.nat().map((n) => yaml.dump(VALID["federation.yaml"]).slice(0, n % 300))), async (file, text) => {
        const { error, changed } = await loadWith(file, text);
        // A truncated file or junk in peers.yaml / anchors.yaml may still be a valid file.
        if (error !== undefined) assertConfigError(error, file, `${file} = ${JSON.stringify(text.slice(0, 80))}`);
        assert.deepEqual(changed, []);
      }),
      { numRuns: 200, seed: SEED },
    );
  });

  test("config fuzz: alias bombs, unsafe tags, __proto__ keys and other hostile YAML are refused naming the file", async () => {
    for (const file of FILES) {
      for (const [what, text, mustRefuse] of HOSTILE_YAML) {
        const { error, changed } = await loadWith(file, text);
        if (error !== undefined || mustRefuse) assertConfigError(error, file, `${file} with ${what}`);
        assert.deepEqual(changed, [], `${file} with ${what} changed files`);
      }
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined, "a __proto__ key polluted Object.prototype");
  });

  test("config fuzz: the CLI exits 2 naming the file and key, with no stack trace, for broken config", async () => {
    const runs: Array<[FileName, string, RegExp]> = [
      ["federation.yaml", BILLION_LAUGHS, /federation\.yaml: .*aliases/],
      ["federation.yaml", yaml.dump(setAt(VALID["federation.yaml"], ["mesh", "clock_skew_s"], "soon")), /federation\.yaml: mesh\.clock_skew_s: /],
      ["peers.yaml", yaml.dump(setAt(VALID["peers.yaml"], ["peers", 0, "roles"], { a: 1 })), /peers\.yaml: peers\[0\]\.roles: /],
      ["anchors.yaml", "eip155: [\n", /anchors\.yaml: not valid YAML/],
    ];
    for (const [i, [file, text, expected]] of runs.entries()) {
      const { error } = await loadWith(file, text, `cli-${i}`);
      assert.ok(error instanceof ConfigError);
      const d = join(dir, `cli-${i}`);
      const before0 = await snapshotTree(d);
      const r = await runCli(["--config", d, "status"]);
      assert.equal(r.code, 2, `${file}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, expected);
      assert.doesNotMatch(r.stderr + r.stdout, STACK);
      assert.deepEqual(diffTrees(before0, await snapshotTree(d)), []);
    }
  });
});
