/**
 * What a SIGHUP reload of a running `serve` can apply (docs/FEDERATION_OPERATIONS.md,
 * "Configuration reference"): peers.yaml, routing, rate limits and clock skew take effect at
 * once; the identity, the listen socket, the state directory, the anti-entropy timer and the
 * verifiers (anchors.yaml, each namespace's verify policy) are bound at start and need a restart.
 * Pure: compares two validated configurations.
 */
import { DEFAULTS, type NamespaceConfig, type NodeConfig } from "./types.js";

export interface ReloadPlan {
  /** The configuration to run with: `next`, with every restart-only part kept from `running`. */
  effective: NodeConfig;
  /** Keys (file: path) whose edits were not applied; empty when everything was. */
  needsRestart: string[];
}

/** JSON with Maps and Sets as sorted entry lists, Uint8Arrays as hex: for comparing configs. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Map) return [...v.entries()].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
    if (v instanceof Set) return [...v].sort();
    if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
    return v;
  });
}

const defaultVerify = { evmConfirmations: DEFAULTS.evmConfirmations, btcConfirmations: DEFAULTS.btcConfirmations };

/**
 * Splits a reload into what applies now and what needs a restart.
 * @example const { effective, needsRestart } = planReload(running, next); node.reload(effective)
 */
export function planReload(running: NodeConfig, next: NodeConfig): ReloadPlan {
  const needsRestart: string[] = [];
  const r = running.federation.mesh;
  const n = next.federation.mesh;
  if (r.nodeId !== n.nodeId) needsRestart.push("federation.yaml: mesh.node_id");
  if (stable(r.listen) !== stable(n.listen)) needsRestart.push("federation.yaml: mesh.listen");
  if (r.keyFile !== n.keyFile) needsRestart.push("federation.yaml: mesh.key_file");
  if (r.stateDir !== n.stateDir) needsRestart.push("federation.yaml: mesh.state_dir");
  if (running.federation.antiEntropy.intervalS !== next.federation.antiEntropy.intervalS) needsRestart.push("federation.yaml: anti_entropy.interval_s");
  if (stable(running.anchors) !== stable(next.anchors)) needsRestart.push("anchors.yaml");
  const namespaces = new Map<string, NamespaceConfig>();
  for (const [name, ns] of next.federation.namespaces) {
    // The verifiers were bound at start: a namespace keeps the policy it started with (a new one: the defaults).
    const bound = running.federation.namespaces.get(name)?.verify ?? defaultVerify;
    if (stable(bound) !== stable(ns.verify)) needsRestart.push(`federation.yaml: namespaces."${name}".verify`);
    namespaces.set(name, { ...ns, verify: bound });
  }
  const effective: NodeConfig = {
    ...next,
    anchors: running.anchors,
    federation: { ...next.federation, mesh: { ...n, nodeId: r.nodeId, listen: r.listen, keyFile: r.keyFile, stateDir: r.stateDir }, antiEntropy: running.federation.antiEntropy, namespaces },
  };
  return { effective, needsRestart };
}
