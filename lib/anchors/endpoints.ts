/**
 * What the anchor verifiers need from a node's configuration, as the verifiers define it:
 * endpoints per chain, the TSA trust material as PEM text, and a namespace's confirmation
 * policy. lib/config builds these from anchors.yaml and federation.yaml (and reads the
 * certificate files); this folder never imports lib/config and never reads a file.
 */
import { ArgumentError } from "../errors.js";
import type { Anchor } from "./anchor.js";
import type { Evidence, VerificationResult } from "./result.js";
import { verifyAnchor, type VerifyAnchorContext } from "./verify.js";

export { DEFAULT_VERIFY_POLICY, type AnchorEndpoints, type BtcEndpoint, type BtcEndpoints, type EvmEndpoint, type TsaTrust, type VerifierConfig, type VerifyPolicy } from "./endpoint-config.js";
import { DEFAULT_VERIFY_POLICY, type VerifierConfig } from "./endpoint-config.js";

export type AnchorVerifier = (anchor: Anchor, batchRoot: string, previous?: Evidence) => Promise<VerificationResult>;

/**
 * A verifier for one namespace: this node's endpoints with that namespace's policy. An
 * unknown namespace gets the default policy (it is not routed anyway).
 * @example const verify = await verifierFor(config); await verify("dao:vaultmesh")(anchor, root)
 */
export async function verifierFor(config: VerifierConfig, options: { timeoutMs?: number } = {}): Promise<(namespace: string) => AnchorVerifier> {
  if (config.anchors.rfc3161 !== undefined && config.tsaTrust === undefined) {
    throw new ArgumentError("config.tsaTrust", "anchors.yaml configures rfc3161 but its certificate files were not read (load the configuration with loadConfig)");
  }
  const tsaTrust = config.tsaTrust;
  return (namespace) => {
    const policy = config.federation.namespaces.get(namespace)?.verify ?? DEFAULT_VERIFY_POLICY;
    return (anchor, batchRoot, previous) => {
      const ctx: VerifyAnchorContext = { endpoints: config.anchors, policy };
      if (tsaTrust !== undefined) ctx.tsaTrust = tsaTrust;
      if (options.timeoutMs !== undefined) ctx.timeoutMs = options.timeoutMs;
      if (previous !== undefined) ctx.previous = previous;
      return verifyAnchor(anchor, batchRoot, ctx);
    };
  };
}
