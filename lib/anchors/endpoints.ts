/**
 * Binds the anchor verifiers to a node's configuration: endpoints from anchors.yaml, the TSA
 * trust bundle read once from disk, and a namespace's confirmation policy.
 */
import { readFile } from "node:fs/promises";
import { DEFAULTS, type AnchorsConfig, type NodeConfig } from "../config/types.js";
import { ConfigError } from "../errors.js";
import type { Anchor } from "./anchor.js";
import type { Evidence, VerificationResult } from "./result.js";
import { verifyAnchor, type VerifyAnchorContext } from "./verify.js";

async function readPem(path: string, key: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new ConfigError([`anchors.yaml: ${key}: ${path} cannot be read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`], { cause });
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new ConfigError([`anchors.yaml: ${key}: ${path} holds no PEM certificate`]);
  return text;
}

/**
 * Reads the TSA trust bundle and intermediates named in anchors.yaml; undefined when none is configured.
 * @example const trust = await loadTsaTrust(config.anchors)
 */
export async function loadTsaTrust(anchors: AnchorsConfig): Promise<VerifyAnchorContext["tsaTrust"]> {
  if (anchors.rfc3161 === undefined) return undefined;
  const trustPem = await readPem(anchors.rfc3161.trustBundle, "rfc3161.trustBundle");
  if (anchors.rfc3161.intermediates === undefined) return { trustPem };
  return { trustPem, intermediatesPem: await readPem(anchors.rfc3161.intermediates, "rfc3161.intermediates") };
}

export type AnchorVerifier = (anchor: Anchor, batchRoot: string, previous?: Evidence) => Promise<VerificationResult>;

/**
 * A verifier for one namespace: this node's endpoints with that namespace's policy. An
 * unknown namespace gets the defaults of federation.yaml (it is not routed anyway).
 * @example const verify = await verifierFor(config); await verify("dao:vaultmesh")(anchor, root)
 */
export async function verifierFor(config: NodeConfig, options: { timeoutMs?: number } = {}): Promise<(namespace: string) => AnchorVerifier> {
  const tsaTrust = await loadTsaTrust(config.anchors);
  return (namespace) => {
    const ns = config.federation.namespaces.get(namespace);
    const policy = ns?.verify ?? { evmConfirmations: DEFAULTS.evmConfirmations, btcConfirmations: DEFAULTS.btcConfirmations };
    return (anchor, batchRoot, previous) => {
      const ctx: VerifyAnchorContext = { endpoints: config.anchors, policy };
      if (tsaTrust !== undefined) ctx.tsaTrust = tsaTrust;
      if (options.timeoutMs !== undefined) ctx.timeoutMs = options.timeoutMs;
      if (previous !== undefined) ctx.previous = previous;
      return verifyAnchor(anchor, batchRoot, ctx);
    };
  };
}
