/**
 * anchors.yaml: Bitcoin endpoint lists, `agree`, plain http only to loopback, named TSAs, and
 * the certificate files read at load time (docs/ANCHORS.md, docs/FEDERATION_OPERATIONS.md).
 * Every problem names the file and the key; a refused configuration leaves the files unchanged.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { verifierFor } from "../../lib/anchors/endpoints.js";
import { loadConfig } from "../../lib/config/load.js";
import { federationTemplate } from "../../lib/config/templates.js";
import { validateConfig } from "../../lib/config/validate.js";
import { ArgumentError, ConfigError } from "../../lib/errors.js";
import { createOpensslTsa } from "../support/openssl-tsa.js";

const dir = "/srv/vmsh/config";
const federation = () => yaml.load(federationTemplate({ nodeId: "did:vm:node:a", listen: "127.0.0.1:8088" }));
const validate = (anchors: unknown) => validateConfig({ federation: federation(), peers: undefined, anchors }, { dir, env: {} });

describe("anchors.yaml: Bitcoin endpoints", () => {
  test("config: a list of endpoints with agree, and agree defaulting to all of them", () => {
    const r = validate({
      btc: {
        mainnet: { endpoints: [{ rpcUrl: "http://u:p@127.0.0.1:8332" }, { esploraUrl: "https://esplora.example/api" }, { esploraUrl: "http://[::1]:3002" }], agree: 2 },
        signet: { endpoints: [{ rpcUrl: "http://localhost:38332" }, { esploraUrl: "https://mempool.example/signet/api" }] },
      },
    });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.config!.anchors.btc.get("mainnet"), { endpoints: [{ rpcUrl: "http://u:p@127.0.0.1:8332" }, { esploraUrl: "https://esplora.example/api" }, { esploraUrl: "http://[::1]:3002" }], agree: 2 });
    assert.equal(r.config!.anchors.btc.get("signet")!.agree, 2);
  });

  test("config: plain http to a host that is not loopback is refused unless insecure: true", () => {
    const refused = validate({ btc: { mainnet: { endpoints: [{ rpcUrl: "http://u:p@10.0.0.5:8332" }] }, testnet: { esploraUrl: "http://esplora.example:3002" } } });
    assert.deepEqual(refused.errors, [
      "anchors.yaml: btc.mainnet.endpoints[0].rpcUrl: plain http to 10.0.0.5, which is not a loopback host: use https, or set btc.mainnet.insecure: true",
      "anchors.yaml: btc.testnet.esploraUrl: plain http to esplora.example, which is not a loopback host: use https, or set btc.testnet.insecure: true",
    ]);
    assert.equal(refused.config, undefined);
    const allowed = validate({ btc: { testnet: { esploraUrl: "http://esplora.example:3002", insecure: true } } });
    assert.deepEqual(allowed.errors, []);
    assert.deepEqual(allowed.warnings, []);
    assert.deepEqual(allowed.config!.anchors.btc.get("testnet"), { endpoints: [{ esploraUrl: "http://esplora.example:3002" }], agree: 1 });
  });

  test("config: agree beyond the endpoints, an empty list, both forms, and a non-boolean insecure are errors", () => {
    const r = validate({
      btc: {
        mainnet: { endpoints: [{ rpcUrl: "http://127.0.0.1:8332" }], agree: 2 },
        testnet: { endpoints: [] },
        signet: { rpcUrl: "http://127.0.0.1:38332", endpoints: [{ rpcUrl: "http://127.0.0.1:38332" }] },
        regtest: { rpcUrl: "http://127.0.0.1:18443", insecure: "yes" },
      },
    });
    const notMapping = validate({ btc: { mainnet: { endpoints: ["http://127.0.0.1:8332"] } } });
    assert.deepEqual(notMapping.errors, ["anchors.yaml: btc.mainnet.endpoints[0]: expected a mapping"]);
    assert.deepEqual(r.errors, [
      "anchors.yaml: btc.mainnet.agree: expected an integer from 1 to the number of endpoints (1)",
      "anchors.yaml: btc.testnet.endpoints: expected at least one endpoint",
      "anchors.yaml: btc.signet: give endpoints, or one rpcUrl/esploraUrl, not both",
      "anchors.yaml: btc.regtest.insecure: expected true or false",
    ]);
  });
});

describe("anchors.yaml: named TSAs", () => {
  test("config: rfc3161.tsas entries with their own roots or a subject", () => {
    const r = validate({ rfc3161: { trustBundle: "certs/any.pem", tsas: { digicert: { subject: "C=US, O=DigiCert, CN=TSA" }, freetsa: { trustBundle: "/abs/freetsa.pem" } } } });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.config!.anchors.rfc3161, {
      trustBundle: "/srv/vmsh/config/certs/any.pem",
      tsas: new Map([["digicert", { subject: "C=US, O=DigiCert, CN=TSA" }], ["freetsa", { trustBundle: "/abs/freetsa.pem" }]]),
    });
    const onlyNamed = validate({ rfc3161: { tsas: { freetsa: { trustBundle: "freetsa.pem" } } } });
    assert.deepEqual(onlyNamed.errors, []);
  });

  test("config: a TSA with neither roots nor subject, a subject without any roots, a bad name, and no roots at all are errors", () => {
    const r = validate({ rfc3161: { tsas: { empty: {}, lonely: { subject: "CN=x" }, "bad name": { trustBundle: "x.pem" } } } });
    assert.deepEqual(r.errors, [
      "anchors.yaml: rfc3161.tsas.empty: needs trustBundle (this TSA's roots) or subject (its signer certificate's subject), or both",
      "anchors.yaml: rfc3161.tsas.lonely: has only a subject, so its tokens must chain to rfc3161.trustBundle, which is not set",
      "anchors.yaml: rfc3161.tsas.\"bad name\": is not a TSA name (letters, digits, '.', '_', '-'; the <name> of rfc3161:<name>)",
    ]);
    const none = validate({ rfc3161: { intermediates: "i.pem" } });
    assert.deepEqual(none.errors, ["anchors.yaml: rfc3161.trustBundle: is required (roots any TSA may chain to), unless TSAs are named under rfc3161.tsas"]);
  });

  test("load: the certificate files are read at load time; a missing or certificate-less file is named with its key", async (t) => {
    const tsa = createOpensslTsa();
    const d = await mkdtemp(join(tmpdir(), "vmsh-anchors-cfg-"));
    t.after(async () => {
      tsa.cleanup();
      await rm(d, { recursive: true, force: true });
    });
    await writeFile(join(d, "federation.yaml"), federationTemplate({ nodeId: "did:vm:node:a", listen: "127.0.0.1:0" }));
    await writeFile(join(d, "root.pem"), tsa.rootPem);
    await writeFile(join(d, "notes.pem"), "no certificate here\n");
    const broken = "rfc3161:\n  trustBundle: root.pem\n  tsas:\n    one: { trustBundle: missing.pem }\n    two: { trustBundle: notes.pem }\n";
    await writeFile(join(d, "anchors.yaml"), broken);
    await assert.rejects(loadConfig(d, {}), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.problems, [
        `anchors.yaml: rfc3161.tsas.one.trustBundle: ${join(d, "missing.pem")} cannot be read: ENOENT`,
        `anchors.yaml: rfc3161.tsas.two.trustBundle: ${join(d, "notes.pem")} holds no PEM certificate`,
      ]);
      return true;
    });
    assert.equal(await readFile(join(d, "anchors.yaml"), "utf8"), broken);

    await writeFile(join(d, "anchors.yaml"), "rfc3161:\n  trustBundle: root.pem\n  tsas:\n    vmsh: { subject: \"O=vmsh test, CN=vmsh test TSA\" }\n");
    const { config } = await loadConfig(d, {});
    assert.equal(config.tsaTrust!.trustPem, tsa.rootPem);
    assert.deepEqual(config.tsaTrust!.tsas, new Map([["vmsh", { subject: "O=vmsh test, CN=vmsh test TSA" }]]));
    await verifierFor(config);
  });

  test("verifierFor: a configuration whose TSA files were not read is the caller's mistake", async () => {
    const r = validate({ rfc3161: { trustBundle: "root.pem" } });
    await assert.rejects(verifierFor(r.config!), (e: unknown) => e instanceof ArgumentError && /config\.tsaTrust/.test(e.message));
  });
});
