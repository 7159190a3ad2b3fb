import { describe, test } from "node:test";
import type { NodeKey } from "../../lib/identity/keys.js";
import assert from "node:assert/strict";
import { validateConfig } from "../../lib/config/validate.js";
import { applyRoster, rosterChange } from "../../lib/roster/effective.js";
import { mostSpecific } from "../../lib/roster/pattern.js";
import { revoked } from "../../lib/roster/revocation.js";
import { keys, line, unsignedRoster } from "./fixtures.js";

const [ka, kb, kc, kd] = keys(4) as [NodeKey, NodeKey, NodeKey, NodeKey];
const members: Array<[string, NodeKey]> = [["did:vm:node:a", ka!], ["did:vm:node:b", kb!], ["did:vm:node:c", kc!]];

function base(peersYaml: unknown = undefined) {
  const r = validateConfig(
    {
      federation: { mesh: { node_id: "did:vm:node:a", key_file: "k" }, namespaces: { "dao:vaultmesh": {}, "dao:other": {}, "ops:x": {} }, governance: { k: 1, keys: [line(kd!)] } },
      peers: peersYaml,
      anchors: undefined,
    },
    { dir: "/tmp/cfg", env: {} },
  );
  assert.deepEqual(r.errors, []);
  return r.config!;
}

describe("roster application (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster)", () => {
  test("pattern: the exact name beats the longest prefix, which beats *", () => {
    assert.equal(mostSpecific(["*", "dao:*", "dao:vaultmesh"], "dao:vaultmesh"), "dao:vaultmesh");
    assert.equal(mostSpecific(["*", "dao:*"], "dao:other"), "dao:*");
    assert.equal(mostSpecific(["*", "dao:*"], "ops:x"), "*");
    assert.equal(mostSpecific(["dao:*"], "daox"), undefined);
    assert.equal(mostSpecific(["dao:*"], "dao"), undefined);
  });

  test("apply: members become peers, origins and routes; this node is not its own peer", () => {
    const roster = unsignedRoster(1, members, { namespaces: { "dao:*": { members: ["did:vm:node:b"], routing: { fanout: 2 } } } });
    const { config, routes } = applyRoster(base(), roster);
    assert.deepEqual([...config.peers.keys()].sort(), ["did:vm:node:b", "did:vm:node:c"]);
    assert.deepEqual([...config.origins.keys()].sort(), ["did:vm:node:b", "did:vm:node:c"]);
    assert.deepEqual(config.federation.namespaces.get("dao:vaultmesh")!.peers, ["did:vm:node:b"]);
    assert.deepEqual(config.federation.namespaces.get("ops:x")!.peers, ["did:vm:node:b", "did:vm:node:c"]);
    assert.deepEqual(routes.get("dao:other"), { pattern: "dao:*", routing: { fanout: 2 }, peers: ["did:vm:node:b"] });
  });

  test("apply: peers.yaml only narrows: deny, fewer roles, a different pinned key", () => {
    const peersYaml = {
      deny: ["did:vm:node:c"],
      peers: [{ did: "did:vm:node:b", url: "http://127.0.0.1:1", roles: ["serve"], keys: { verify: line(kb!) } }],
    };
    const { config, denied } = applyRoster(base(peersYaml), unsignedRoster(1, members));
    assert.deepEqual([...config.peers.keys()], ["did:vm:node:b"]);
    assert.deepEqual([...config.peers.get("did:vm:node:b")!.roles], ["serve"]);
    assert.equal(config.peers.get("did:vm:node:b")!.url, "http://127.0.0.1:9001", "the roster's url");
    assert.deepEqual(denied, [{ did: "did:vm:node:c", reason: "peers.yaml deny" }]);
    const pinned = { peers: [{ did: "did:vm:node:b", url: "http://127.0.0.1:1", roles: ["serve"], keys: { verify: line(kd!) } }] };
    assert.deepEqual(applyRoster(base(pinned), unsignedRoster(1, members)).denied, [{ did: "did:vm:node:b", reason: "peers.yaml pins another key" }]);
  });

  test("change and revocation: a removed origin is revoked from the serial that removed it; a rotated key too", () => {
    const one = unsignedRoster(1, members);
    const two = unsignedRoster(2, [members[0]!, ["did:vm:node:b", kd!]]);
    assert.deepEqual(rosterChange(one, two), { added: [], removed: ["did:vm:node:c"], rekeyed: ["did:vm:node:b"], rolesChanged: [] });
    const r = revoked([one, two], "origin");
    assert.deepEqual([...r.keys()].sort(), ["did:vm:node:b", "did:vm:node:c"]);
    assert.equal(r.get("did:vm:node:c")!.serial, 2);
    assert.equal(r.get("did:vm:node:c")!.at, two.issuedAt);
  });

  test("revocation: promoting the announced next key is a rotation, not a revocation", () => {
    const one = unsignedRoster(1, members);
    const announced = { ...one, serial: 2, members: one.members.map((m) => (m.did === "did:vm:node:b" ? { ...m, keys: { verify: m.keys.verify, next: line(kd!) } } : m)) };
    const promoted = unsignedRoster(3, [members[0]!, ["did:vm:node:b", kd!], members[2]!]);
    assert.equal(revoked([one, announced, promoted], "origin").size, 0);
    assert.equal(revoked([one, promoted], "origin").get("did:vm:node:b")?.keyOnly, true, "a key replaced without announcing it first is revoked");
  });

  test("apply: a witness removed by a later serial no longer has a key, so its cosignatures stop counting", () => {
    const withWitness = unsignedRoster(1, members, { namespaces: { "dao:*": { quorum: { k: 1, witnesses: ["did:vm:node:c"] } } } });
    withWitness.members[2]!.roles.push("witness");
    const one = applyRoster(base(), withWitness).config;
    assert.deepEqual([...one.witnesses.keys()], ["did:vm:node:c"]);
    assert.deepEqual(one.federation.namespaces.get("dao:vaultmesh")!.quorum, { k: 1, witnesses: ["did:vm:node:c"] });
    const two = applyRoster(base(), unsignedRoster(2, members.slice(0, 2), { namespaces: { "dao:*": { quorum: { k: 1, witnesses: ["did:vm:node:b"] } } } })).config;
    assert.equal(two.witnesses.has("did:vm:node:c"), false);
    assert.equal(two.origins.has("did:vm:node:c"), false, "nor do its checkpoints");
    assert.equal(revoked([withWitness, unsignedRoster(2, members.slice(0, 2))], "witness").get("did:vm:node:c")?.serial, 2);
  });

  test("config: governance is validated, k above the number of keys refused", () => {
    const r = validateConfig({ federation: { mesh: { node_id: "did:vm:node:a" }, governance: { k: 3, keys: [line(ka!), line(ka!)] } }, peers: undefined, anchors: undefined }, { dir: "/tmp", env: {} });
    assert.ok(r.errors.some((e) => /governance\.keys\[1\]: is listed twice/.test(e)), r.errors.join("\n"));
    const old = validateConfig({ federation: { mesh: { node_id: "did:vm:node:a" } }, peers: undefined, anchors: undefined }, { dir: "/tmp", env: {} });
    assert.equal(old.config!.federation.governance, undefined, "an old configuration has no governance");
  });
});
