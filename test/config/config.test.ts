import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { ConfigError } from "../../lib/errors.js";
import { loadConfig } from "../../lib/config/load.js";
import { anchorsTemplate, federationTemplate, peersTemplate } from "../../lib/config/templates.js";
import { validateConfig } from "../../lib/config/validate.js";
import { parseYaml } from "../../lib/config/yaml.js";
import { formatKeyLine } from "../../lib/identity/did.js";
import { repoRoot } from "../support/repo-root.js";

const KEY = formatKeyLine(new Uint8Array(32).fill(7));
const dir = "/srv/vmsh/config";
const base = () => yaml.load(federationTemplate({ nodeId: "did:vm:node:a", listen: "127.0.0.1:8088" })) as Record<string, any>;
const peersDoc = (over: Record<string, unknown> = {}) => ({ peers: [{ did: "did:vm:node:b", url: "http://127.0.0.1:9000", roles: ["serve"], keys: { verify: KEY }, ...over }] });
const validate = (federation: unknown, peers?: unknown, anchors?: unknown, env: Record<string, string> = {}) => validateConfig({ federation, peers, anchors }, { dir, env });

describe("config: validation", () => {
  test("config: an origin-only peers.yaml entry needs no url, is no neighbour, and namespaces.<ns>.origins must name known origins", () => {
    const peers = { peers: [...peersDoc().peers, { did: "did:vm:node:far", roles: ["origin"], keys: { verify: KEY } }] };
    const ok = validate(base(), peers);
    assert.deepEqual(ok.errors, []);
    assert.deepEqual([...ok.config!.origins.keys()], ["did:vm:node:far"]);
    assert.deepEqual([...ok.config!.peers.keys()], ["did:vm:node:b"], "an origin key is not a peer this node talks to");
    assert.equal(ok.config!.federation.namespaces.get("dao:vaultmesh")!.origins, undefined, "default: this node and every origin-role entry");
    const f = base();
    f.namespaces["dao:vaultmesh"].origins = ["did:vm:node:b", "did:vm:node:far"];
    const bad = validate(f, peers);
    assert.deepEqual(bad.errors.map(String).filter((e) => e.includes("origins")), ['federation.yaml: namespaces."dao:vaultmesh".origins[0]: did:vm:node:b is neither this node nor a peers.yaml entry with role origin, so its checkpoints cannot be verified']);
    const routedKey = base();
    routedKey.namespaces["dao:vaultmesh"].peers = ["did:vm:node:far"];
    assert.match(validate(routedKey, peers).errors.map(String).join("\n"), /did:vm:node:far is only an origin in peers.yaml/);
    const noUrl = validate(base(), { peers: [{ did: "did:vm:node:c", roles: ["serve", "origin"], keys: { verify: KEY } }] });
    assert.match(noUrl.errors.map(String).join("\n"), /peers\[0\]\.url: is required/);
  });

  test("config: namespaces.<ns>.quorum takes witnesses from peers.yaml role witness (no url needed) or this node", () => {
    const KEY2 = formatKeyLine(new Uint8Array(32).fill(8));
    const peers = { peers: [...peersDoc({ roles: ["serve", "witness"] }).peers, { did: "did:vm:node:w", roles: ["witness"], keys: { verify: KEY2 } }] };
    const f = base();
    f.namespaces["dao:vaultmesh"].quorum = { k: 2, witnesses: ["did:vm:node:a", "did:vm:node:b", "did:vm:node:w"] };
    const ok = validate(f, peers);
    assert.deepEqual(ok.errors, []);
    assert.deepEqual(ok.warnings, []);
    assert.deepEqual(ok.config!.federation.namespaces.get("dao:vaultmesh")!.quorum, { k: 2, witnesses: ["did:vm:node:a", "did:vm:node:b", "did:vm:node:w"] });
    assert.deepEqual([...ok.config!.witnesses.keys()].sort(), ["did:vm:node:b", "did:vm:node:w"]);
    assert.deepEqual([...ok.config!.peers.keys()], ["did:vm:node:b"], "a witness-only entry is a key, not a neighbour");
    assert.equal(validate(base(), peers).config!.federation.namespaces.get("dao:vaultmesh")!.quorum, undefined, "no quorum: final once this node verified");
  });

  test("config: namespaces.<ns>.require_logged takes true or false (absent: false) and refuses anything else naming file and key", () => {
    const with_ = (v: unknown) => {
      const f = base();
      f.namespaces["dao:vaultmesh"].require_logged = v;
      return validate(f, peersDoc());
    };
    assert.equal(with_(true).config!.federation.namespaces.get("dao:vaultmesh")!.requireLogged, true);
    assert.equal(with_(false).config!.federation.namespaces.get("dao:vaultmesh")!.requireLogged, undefined);
    assert.equal(validate(base(), peersDoc()).config!.federation.namespaces.get("dao:vaultmesh")!.requireLogged, undefined);
    const bad = with_("yes");
    assert.equal(bad.config, undefined);
    assert.deepEqual(bad.errors.map(String), ['federation.yaml: namespaces."dao:vaultmesh".require_logged: expected true or false']);
  });

  test("config: a quorum no batch could meet, or that counts one witness twice, is refused naming file and key", () => {
    const KEY2 = formatKeyLine(new Uint8Array(32).fill(8));
    const peers = { peers: [...peersDoc({ roles: ["serve", "witness"] }).peers, { did: "did:vm:node:w", roles: ["witness"], keys: { verify: KEY2 } }, { did: "did:vm:node:twin", roles: ["witness"], keys: { verify: KEY2 } }, { did: "did:vm:node:o", roles: ["origin"], keys: { verify: formatKeyLine(new Uint8Array(32).fill(9)) } }] };
    const refused = (quorum: unknown) => {
      const f = base();
      f.namespaces["dao:vaultmesh"].quorum = quorum;
      const r = validate(f, peers);
      assert.equal(r.config, undefined);
      return r.errors;
    };
    const at = 'federation.yaml: namespaces."dao:vaultmesh".quorum';
    assert.deepEqual(refused({ k: 3, witnesses: ["did:vm:node:a", "did:vm:node:b"] }), [`${at}.k: is 3, but only 2 witnesses are listed: no batch could ever be final`]);
    assert.deepEqual(refused({ k: 0, witnesses: ["did:vm:node:a"] }), [`${at}.k: expected a positive integer: how many distinct witnesses must cosign`]);
    assert.deepEqual(refused({ k: 1, witnesses: ["did:vm:node:a", "did:vm:node:nobody"] }), [`${at}.witnesses[1]: did:vm:node:nobody is neither this node nor a peers.yaml entry with role witness, so its cosignatures cannot be verified`]);
    assert.deepEqual(refused({ k: 1, witnesses: ["did:vm:node:o"] }), [`${at}.witnesses[0]: did:vm:node:o is neither this node nor a peers.yaml entry with role witness, so its cosignatures cannot be verified`], "an origin key is not a witness key");
    assert.deepEqual(refused({ k: 1, witnesses: ["did:vm:node:b", "did:vm:node:b"] }), [`${at}.witnesses[1]: did:vm:node:b is listed twice: a witness counts once toward k`]);
    assert.deepEqual(refused({ k: 2, witnesses: ["did:vm:node:w", "did:vm:node:twin"] }), [`${at}.witnesses[1]: did:vm:node:twin has the same key in peers.yaml as the witness did:vm:node:w: one key counts once toward k, list it once`]);
    assert.deepEqual(refused({ k: 1, witnesses: [] }), [`${at}.witnesses: is empty: name at least k witness DIDs`]);
    assert.deepEqual(refused({ witnesses: ["did:vm:node:a"] }), [`${at}.k: is required`]);
    assert.deepEqual(refused({ k: 1, witnesses: ["not-a-did"] }), [`${at}.witnesses[0]: expected a DID, got "not-a-did"`]);
  });

  test("config: the templates init writes load with no warnings and defaults filled in", () => {
    const r = validate(base(), yaml.load(peersTemplate()), yaml.load(anchorsTemplate()));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
    const ns = r.config!.federation.namespaces.get("dao:vaultmesh")!;
    assert.deepEqual(ns.verify, { evmConfirmations: 12, btcConfirmations: 6 });
    assert.equal(r.config!.federation.mesh.keyFile, "/srv/vmsh/config/keys/node.key");
    assert.equal(r.config!.federation.mesh.stateDir, "/srv/vmsh/state");
  });

  test("config: every error names the file and the key path, all at once", () => {
    const f = base();
    f.namespaces["dao:vaultmesh"].verify.evm_confirmations = -1;
    f.mesh.clock_skew_s = "soon";
    f.mesh.listen.http = "localhost";
    const r = validate(f, peersDoc({ roles: ["serve", "admin"], keys: { verify: "ed25519:short" } }));
    assert.deepEqual(r.errors, [
      'federation.yaml: mesh.listen.http: expected HOST:PORT such as "127.0.0.1:8088"',
      "federation.yaml: mesh.clock_skew_s: expected an integer number of seconds from 1 to 86400",
      'federation.yaml: namespaces."dao:vaultmesh".verify.evm_confirmations: expected a non-negative integer',
      'peers.yaml: peers[0].roles[1]: unknown role "admin" (roles: announce, serve, request, origin, witness)',
      "peers.yaml: peers[0].keys.verify: expected 32 key bytes as 64 hex digits or 43 base64url characters",
    ]);
    assert.equal(r.config, undefined);
  });

  test("config: unknown keys are warnings naming file and key, not silence", () => {
    const f = base();
    f.mesh.colour = "blue";
    f.namespaces["dao:vaultmesh"].verify.eth_confirmations = 3;
    const r = validate(f);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, [
      "federation.yaml: mesh.colour: unknown key (known here: node_id, listen, key_file, state_dir, clock_skew_s, max_posts_per_address_per_min)",
      'federation.yaml: namespaces."dao:vaultmesh".verify.eth_confirmations: unknown key (known here: evm_confirmations, btc_confirmations); did you mean namespaces."dao:vaultmesh".verify.evm_confirmations?',
    ]);
  });

  test("config: an unknown key names the nearest known key, at its own level or elsewhere in the file", () => {
    // docs/FEDERATION_OPERATIONS.md once said `state_dir: /var/lib/vmsh` at the top of federation.yaml.
    const f = base();
    f.state_dir = "/var/lib/vmsh";
    f.mesh.nodeid = "did:vm:node:x";
    f.anti_entropy.intervall_s = 5;
    const peers = { peers: [{ ...peersDoc().peers[0], urls: ["x"], key: {} }] };
    const anchors = { eip155: { "1": { rpcURL: "http://127.0.0.1:8545" } }, rfc3161: { trust_bundle: "certs/x.pem" } };
    const r = validate(f, peers, anchors);
    const hints = r.warnings.map((w) => /did you mean (.+)\?$/.exec(w)?.[1] ?? `none: ${w}`);
    assert.deepEqual(hints, ["mesh.state_dir", "mesh.node_id", "anti_entropy.interval_s", "peers[0].url", "peers[0].keys", 'eip155."1".rpcUrl', "rfc3161.trustBundle"]);
    assert.match(r.warnings[0]!, /^federation\.yaml: state_dir: unknown key \(known here: mesh, namespaces, anti_entropy, explorer, governance\); did you mean mesh\.state_dir\?$/);
    const far = base();
    far.mesh.colour = "blue";
    assert.deepEqual(validate(far).warnings, ["federation.yaml: mesh.colour: unknown key (known here: node_id, listen, key_file, state_dir, clock_skew_s, max_posts_per_address_per_min)"], "nothing close: no guess");
  });

  test("config: a state directory inside the configuration directory or under /etc is refused, saying why", () => {
    const at = (dir: string, stateDir?: string) => {
      const f = base();
      if (stateDir === undefined) delete f.mesh.state_dir;
      else f.mesh.state_dir = stateDir;
      return validateConfig({ federation: f, peers: undefined, anchors: undefined }, { dir, env: {} });
    };
    const unset = at("/etc/vmsh");
    assert.equal(unset.config, undefined);
    assert.deepEqual(unset.errors, ["federation.yaml: mesh.state_dir: not set, so the state goes to ../state (relative to the configuration directory): /etc/state is under /etc, which holds configuration and which the shipped systemd unit keeps read-only (ProtectSystem=strict); put the state in /var/lib/vmsh"]);
    assert.deepEqual(at("/etc/vmsh", "/etc/vmsh-state").errors, ["federation.yaml: mesh.state_dir: /etc/vmsh-state is under /etc, which holds configuration and which the shipped systemd unit keeps read-only (ProtectSystem=strict); put the state in /var/lib/vmsh"]);
    assert.deepEqual(at("/srv/n/config", "state").errors, ["federation.yaml: mesh.state_dir: /srv/n/config/state is inside the configuration directory /srv/n/config: state is written all the time, configuration only by its operator; put the state elsewhere, e.g. /var/lib/vmsh"]);
    assert.deepEqual(at("/srv/n/config", ".").errors.length, 1);
    assert.deepEqual(at("/etc/vmsh", "/var/lib/vmsh").errors, []);
    assert.deepEqual(at("/srv/n/config", "../state").errors, []);
    assert.deepEqual(at("/srv/n/config", "/srv/n/config-state").errors, [], "a sibling whose name starts the same is outside");
  });

  test("config: this node's own DID as a peers.yaml entry or a routed peer is an error, not a warning", () => {
    const f = base();
    f.namespaces["dao:vaultmesh"].peers = ["did:vm:node:a"];
    const r = validate(f, { peers: [{ did: "did:vm:node:a", url: "http://127.0.0.1:8088", roles: ["announce", "serve", "request", "origin"], keys: { verify: KEY } }] });
    assert.equal(r.config, undefined);
    assert.deepEqual(r.errors, [
      'federation.yaml: namespaces."dao:vaultmesh".peers[0]: did:vm:node:a is this node\'s own DID (mesh.node_id): route the other node\'s DID',
      "peers.yaml: peers[0].did: did:vm:node:a is this node's own DID (federation.yaml mesh.node_id): paste the other node's entry, the one its init printed",
    ]);
  });

  test("config: ${ENV} is interpolated, and an unset variable is an error naming it", () => {
    const anchors = { eip155: { "1": { rpcUrl: "${EVM_RPC_1}" } }, btc: { regtest: { rpcUrl: "http://u:p@127.0.0.1:${BTC_PORT}" } } };
    const ok = validate(base(), undefined, anchors, { EVM_RPC_1: "http://127.0.0.1:8545", BTC_PORT: "18443" });
    assert.deepEqual(ok.errors, []);
    assert.equal(ok.config!.anchors.eip155.get("1")!.rpcUrl, "http://127.0.0.1:8545");
    assert.deepEqual(ok.config!.anchors.btc.get("regtest"), { endpoints: [{ rpcUrl: "http://u:p@127.0.0.1:18443" }], agree: 1 });
    const bad = validate(base(), undefined, anchors, { EVM_RPC_1: "http://127.0.0.1:8545" });
    assert.deepEqual(bad.errors, ['anchors.yaml: btc.regtest.rpcUrl: environment variable BTC_PORT is not set']);
  });

  test("config: checks DIDs, URLs, duplicate peers, Bitcoin networks and EVM chain ids", () => {
    const f = base();
    f.mesh.node_id = "node-a";
    const r = validate(f, { peers: [...peersDoc().peers, ...peersDoc({ url: "ftp://x" }).peers] }, { eip155: { mainnet: { rpcUrl: "http://x" } }, btc: { dogecoin: { rpcUrl: "http://x" }, testnet: {} } });
    assert.deepEqual(r.errors, [
      'federation.yaml: mesh.node_id: expected a DID such as "did:vm:node:vm-spawn-a", got "node-a"',
      "peers.yaml: peers[1].did: did:vm:node:b is listed twice",
      "peers.yaml: peers[1].url: expected a http: or https: URL",
      'anchors.yaml: eip155.mainnet: expected a decimal chain id such as "1" or "8453"',
      "anchors.yaml: btc.dogecoin: unknown Bitcoin network (networks: mainnet, testnet, signet, regtest)",
      "anchors.yaml: btc.testnet: needs rpcUrl (Bitcoin Core JSON-RPC) or esploraUrl (Esplora REST)",
    ]);
  });

  test("config: a routed peer missing from peers.yaml is warned about", () => {
    const f = base();
    f.namespaces["dao:vaultmesh"].peers = ["did:vm:node:b", "did:vm:node:z"];
    const r = validate(f, peersDoc());
    assert.deepEqual(r.warnings, ['federation.yaml: namespaces."dao:vaultmesh".peers[1]: did:vm:node:z is not in peers.yaml, so nothing is exchanged with it']);
    assert.deepEqual([...r.config!.peers.keys()], ["did:vm:node:b"]);
  });

  test("config: wrong types in every federation.yaml key are errors, never a crash", () => {
    for (const garbage of [null, 42, "text", [], [1, 2], { deep: { er: 1 } }, true]) {
      for (const mutate of [
        (f: any) => (f.mesh = garbage),
        (f: any) => (f.mesh.listen = garbage),
        (f: any) => (f.namespaces = garbage),
        (f: any) => (f.namespaces["dao:vaultmesh"] = garbage),
        (f: any) => (f.namespaces["dao:vaultmesh"].peers = garbage),
        (f: any) => (f.namespaces["dao:vaultmesh"].verify = garbage),
        (f: any) => (f.anti_entropy = garbage),
      ]) {
        const f = base();
        mutate(f);
        const r = validate(f, garbage, garbage);
        for (const line of [...r.errors, ...r.warnings]) assert.match(line, /^(federation|peers|anchors)\.yaml: /);
      }
    }
  });
});

describe("config: YAML", () => {
  test("yaml: a syntax error names the file, line and column", () => {
    const r = parseYaml("mesh:\n  node_id: [unclosed\n", "federation.yaml");
    assert.equal(r.ok, false);
    assert.match((r as { message: string }).message, /^federation\.yaml: not valid YAML at line \d+, column \d+/);
  });

  test("yaml: an alias bomb is refused without expanding it", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
    const r = parseYaml(bomb, "peers.yaml");
    assert.equal(r.ok, false);
    assert.match((r as { message: string }).message, /^peers\.yaml: .*: YAML anchors and aliases are not supported/);
  });

  test("yaml: custom tags that would build functions or classes are refused", () => {
    const r = parseYaml("a: !!js/function 'function(){}'", "federation.yaml");
    assert.equal(r.ok, false);
  });
});

describe("config: loading from a directory", () => {
  test("load: a missing federation.yaml says how to create one; a broken file is named and left untouched", async () => {
    const d = await mkdtemp(join(tmpdir(), "vmsh-cfg-"));
    try {
      await assert.rejects(loadConfig(d, {}), (e: unknown) => e instanceof ConfigError && e.details === "missing" && /^federation\.yaml: not found in /.test(e.message));
      const broken = "mesh: { node_id: did:vm:node:a\n";
      await writeFile(join(d, "federation.yaml"), broken);
      await assert.rejects(loadConfig(d, {}), (e: unknown) => e instanceof ConfigError && e.code === "CONFIG_INVALID" && /^federation\.yaml: not valid YAML/.test(e.message));
      assert.equal(await readFile(join(d, "federation.yaml"), "utf8"), broken);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });

  test("load: the example configs in config/ are valid", async () => {
    const { config, warnings } = await loadConfig(join(repoRoot, "config"), { EVM_RPC_1: "http://127.0.0.1:8545", EVM_RPC_8453: "http://127.0.0.1:8546" });
    assert.deepEqual(warnings, []);
    assert.equal(config.federation.mesh.nodeId, "did:vm:node:vm-spawn-a");
    assert.deepEqual(config.federation.namespaces.get("dao:vaultmesh")!.peers, ["did:vm:node:vm-spawn-b", "did:vm:node:vm-spawn-c"]);
  });
});
