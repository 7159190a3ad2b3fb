/**
 * The commented configuration files `vmsh-federation init` writes. They are valid as
 * written (the loader accepts them without warnings) and teach every key in comments.
 */
import { DEFAULTS } from "./types.js";

export interface TemplateOptions {
  nodeId: string;
  listen: string;
  /** `mesh.state_dir` as written (default ../state, relative to the configuration directory). */
  stateDir?: string;
}

/** federation.yaml for a new node. */
export function federationTemplate(o: TemplateOptions): string {
  return `# federation.yaml: this node's identity, listen address and namespace routing.
# Reference: docs/FEDERATION_OPERATIONS.md. Paths are relative to this directory.
mesh:
  node_id: "${o.nodeId}"          # this node's DID; peers list it in their peers.yaml
  listen:
    http: "${o.listen}"            # HOST:PORT of the federation HTTP server
    # tls: { key: certs/node.key.pem, cert: certs/node.cert.pem }   # serve HTTPS instead
  key_file: ${DEFAULTS.keyFile}           # Ed25519 private key (PKCS#8 PEM, mode 0600)
  state_dir: ${o.stateDir === undefined ? DEFAULTS.stateDir : JSON.stringify(o.stateDir)}              # where receipts, anchors and outboxes are kept (not under /etc, not in this directory)
  clock_skew_s: ${DEFAULTS.clockSkewS}              # accepted |now - ts| of inbound messages, seconds

# Namespaces this node federates, and the peers each is routed to (both directions:
# we accept announces from them and we announce to them). A peer must also be in peers.yaml.
namespaces:
  "dao:vaultmesh":
    peers: []                       # e.g. ["did:vm:node:vm-spawn-b", "did:vm:node:vm-spawn-c"]
    verify:
      evm_confirmations: ${DEFAULTS.evmConfirmations}         # an EVM anchor is verified at this depth
      btc_confirmations: ${DEFAULTS.btcConfirmations}          # a Bitcoin anchor is verified at this depth
    limits:
      max_announce_rate_per_min: ${DEFAULTS.maxAnnounceRatePerMin}  # per peer; excess gets 429 with Retry-After
      max_request_rate_per_min: ${DEFAULTS.maxRequestRatePerMin}
    # quorum: { k: 2, witnesses: ["${o.nodeId}", "did:vm:node:vm-spawn-b", "did:vm:node:vm-spawn-c"] }
    #   final only once k distinct witnesses (this node, or peers.yaml role witness) cosigned a
    #   batch (docs/FEDERATION_SEMANTICS.md §8); without quorum, once this node verified it

anti_entropy:
  interval_s: ${DEFAULTS.antiEntropyIntervalS}                  # how often serve reconciles each namespace with each peer
`;
}

/** peers.yaml for a new node: the allowlist, empty until keys are exchanged. */
export function peersTemplate(): string {
  return `# peers.yaml: the DID allowlist. Only peers listed here are admitted, with the roles given:
#   announce  may announce batches to this node
#   serve     this node pulls bundles from it
#   request   may pull bundles and reconcile with this node
#   origin    its signed batch checkpoints are accepted: it seals batches (docs/FEDERATION_SEMANTICS.md)
#   witness   its cosignatures count toward a namespace's quorum (docs/FEDERATION_SEMANTICS.md §8)
# keys.verify is the line the peer's \`vmsh-federation init\` printed. Being listed, routed or
# allowed to announce does not make a peer an origin: only the origin role does.
# Append each peer's entry at the end of this file exactly as its init printed it, e.g.:
#   - did: "did:vm:node:vm-spawn-b"
#     url: "http://10.0.0.2:8088"
#     roles: [announce, serve, request, origin]
#     keys: { verify: "ed25519:<43 base64url characters>" }
#   # A sealer this node never talks to (its batches arrive through relays): only its key, no url.
#   - did: "did:vm:node:vm-spawn-far"
#     roles: [origin]
#     keys: { verify: "ed25519:<43 base64url characters>" }
#   # A witness this node never talks to (its cosignatures arrive through relays): likewise no url.
#   - did: "did:vm:node:vm-spawn-w"
#     roles: [witness]
#     keys: { verify: "ed25519:<43 base64url characters>" }
# then run \`systemctl reload vmsh-federation\` (SIGHUP). An empty list is written as nothing.
peers:
`;
}

/** anchors.yaml for a new node: no verifiers until endpoints are configured. */
export function anchorsTemplate(): string {
  return `# anchors.yaml: endpoints of this node's own anchor verifiers. \${NAME} is replaced by the
# environment variable NAME (an unset variable is an error). An anchor on a chain with no
# endpoint here stays "pending" (never "verified").
eip155: {}
#   "1":    { rpcUrl: "\${EVM_RPC_1}", contract: "0x…" }   # contract: only logs from it count
#   "8453": { rpcUrl: "\${EVM_RPC_8453}" }
btc: {}
#   mainnet: { rpcUrl: "http://user:pass@127.0.0.1:8332" }  # Bitcoin Core JSON-RPC
#   testnet: { esploraUrl: "http://127.0.0.1:3002" }         # or Esplora REST; plain http only to
#                                                            # loopback unless insecure: true
#   signet:                                                  # several endpoints: \`agree\` of them
#     endpoints: [{ rpcUrl: "http://u:p@127.0.0.1:38332" }, { esploraUrl: "https://…/signet/api" }]
#     agree: 2                                               # (default all) must name the same block
# rfc3161:
#   trustBundle: certs/tsa-bundle.pem        # PEM roots any time-stamp authority may chain to
#   intermediates: certs/tsa-intermediates.pem
#   tsas:                                    # named TSAs: rfc3161:<name> must come from that TSA
#     freetsa: { trustBundle: certs/freetsa-root.pem }
#     digicert: { subject: "C=US, O=DigiCert, Inc., CN=…" }  # its signer's subject, over trustBundle
`;
}
