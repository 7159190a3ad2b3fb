/**
 * Deterministic conflict resolution and merge of stored anchors (docs/FEDERATION_SEMANTICS.md §3. Conflicts, §4. Merge).
 * Rules: docs/FEDERATION_SEMANTICS.md §3. Conflicts and §4. Merge.
 */
export { anchorKey, claimDigest, claimOf, recordName, withDigest, type AnchorRecord } from "./record.js";
export { compareAnchors } from "./order.js";
export { mergeAnchors } from "./merge.js";
export { resolveAnchors, type Resolution, type BatchResolution, type RootResolution } from "./resolve.js";
