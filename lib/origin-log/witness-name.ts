/**
 * The key name of a node as a cosigner of log heads
 * (docs/FEDERATION_PROTOCOL.md §Witnessed heads): `vmsh-federation/witness/<DID>`, signature
 * type 0x04 (tlog-cosignature).
 */

/**
 * @example witnessName("did:vm:node:w") // "vmsh-federation/witness/did:vm:node:w"
 */
export function witnessName(did: string): string {
  return `vmsh-federation/witness/${did}`;
}
