/**
 * EVM anchors (docs/ANCHORS.md §EVM anchors): the verifier and the contract constants the rest
 * of the product uses to recognise a `BatchAnchored` event.
 */
export { verifyEvmAnchor, type EvmVerifyContext } from "./verify.js";
export { BATCH_ANCHOR_ABI, BATCH_ANCHORED_SIGNATURE, BATCH_ANCHORED_TOPIC, batchIdTopic, rootTopic } from "./contract.js";
export { endpointName } from "./endpoint.js";
