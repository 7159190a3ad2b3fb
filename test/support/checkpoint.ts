/**
 * Checkpoints for tests: what an origin signs for a batch (docs/FEDERATION_PROTOCOL.md §Checkpoint).
 */
import type { KeyObject } from "node:crypto";
import { signCheckpoint, type Checkpoint } from "../../lib/messages/checkpoint.js";
import type { TreeKind } from "../../lib/receipt.js";

export function checkpointBy(origin: { did: string; key: { privateKey: KeyObject } }, fields: { namespace: string; batchId: string; batchRoot: string; size?: number; createdAt?: number; tree?: TreeKind; ts?: number }): Checkpoint {
  return signCheckpoint(
    {
      namespace: fields.namespace,
      origin: origin.did,
      batchId: fields.batchId,
      batchRoot: fields.batchRoot,
      tree: fields.tree ?? "vmsh-dup-sha256",
      size: fields.size ?? 1,
      createdAt: fields.createdAt ?? 1_700_000_000,
      ts: fields.ts ?? Math.floor(Date.now() / 1000),
    },
    origin.key.privateKey,
  );
}
