import { describe, test } from "node:test";
import assert from "node:assert/strict";
import yaml from "js-yaml";
import { federationTemplate } from "../../lib/config/templates.js";
import { validateConfig } from "../../lib/config/validate.js";

const TOKEN = "t".repeat(32);
const withExplorer = (explorer: unknown) => ({ ...(yaml.load(federationTemplate({ nodeId: "did:vm:node:a", listen: "127.0.0.1:8088" })) as Record<string, unknown>), explorer });
const validate = (explorer: unknown, env: Record<string, string> = {}) => validateConfig({ federation: withExplorer(explorer), peers: undefined, anchors: undefined }, { dir: "/srv/vmsh/config", env });

describe("config: the explorer key", () => {
  test("explorer: absent means loopback only with the default allowance", () => {
    const r = validateConfig({ federation: yaml.load(federationTemplate({ nodeId: "did:vm:node:a", listen: "127.0.0.1:8088" })), peers: undefined, anchors: undefined }, { dir: "/srv/vmsh/config", env: {} });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.config!.federation.explorer, { public: false, ratePerMin: 600 });
  });

  test("explorer: public with a token from the environment is accepted", () => {
    const r = validate({ public: true, token: "${VMSH_EXPLORER_TOKEN}", rate_per_min: 30 }, { VMSH_EXPLORER_TOKEN: TOKEN });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.config!.federation.explorer, { public: true, token: TOKEN, ratePerMin: 30 });
  });

  test("explorer: every mistake is reported at once, naming the file and key, and no config comes out", () => {
    const r = validate({ public: "yes", token: "short", rate_per_min: 0 });
    assert.equal(r.config, undefined);
    assert.deepEqual(r.errors, [
      "federation.yaml: explorer.public: expected true or false",
      "federation.yaml: explorer.token: is 5 characters; use at least 32 (e.g. ${VMSH_EXPLORER_TOKEN} set to the output of `openssl rand -base64 32`)",
      "federation.yaml: explorer.rate_per_min: expected a positive integer",
    ]);
  });

  test("explorer: public without a token is refused; an unset variable is named", () => {
    assert.deepEqual(validate({ public: true }).errors, ["federation.yaml: explorer.token: is required when explorer.public is true: non-loopback clients must present it as a bearer token"]);
    assert.deepEqual(validate({ public: true, token: "${VMSH_EXPLORER_TOKEN}" }).errors, ["federation.yaml: explorer.token: environment variable VMSH_EXPLORER_TOKEN is not set"]);
    assert.deepEqual(validate("open").errors, ["federation.yaml: explorer: expected a mapping"]);
  });

  test("explorer: a token without public is a warning, unknown keys too", () => {
    const r = validate({ token: TOKEN, listen: "0.0.0.0:80" });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, [
      "federation.yaml: explorer.listen: unknown key (known here: public, token, rate_per_min, public_url)",
      "federation.yaml: explorer.token: is unused: explorer.public is not true, so only loopback clients are answered",
    ]);
    assert.equal(r.config!.federation.explorer!.public, false);
  });

  test("explorer: public_url is kept as a URL; anything but an http(s) URL with a host is named", () => {
    assert.deepEqual(validate({ public_url: "https://Explorer.Example.org/vmsh" }).config!.federation.explorer, { public: false, ratePerMin: 600, publicUrl: "https://explorer.example.org/vmsh" });
    for (const bad of ["javascript:alert(1)", "https://user:pw@example.org/", "https://example.org/?q=1", "file:///etc/passwd"]) {
      assert.deepEqual(validate({ public_url: bad }).errors, ['federation.yaml: explorer.public_url: expected an http or https URL with a host and no user, query or fragment, e.g. "https://explorer.example.org/"'], bad);
    }
    assert.deepEqual(validate({ public_url: "not a url" }).errors, ['federation.yaml: explorer.public_url: is not a URL: expected e.g. "https://explorer.example.org/"']);
  });
});
