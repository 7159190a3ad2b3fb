/**
 * RFC 3161 time-stamp verification (docs/ANCHORS.md §RFC 3161 time-stamps): the token
 * verifier, the `rfc3161:<name>` anchor verifier built on it, its budgets, and the token
 * digest that identifies a TSA anchor.
 */
export { verifyTimestampToken, type TimestampExpectation, type TimestampOptions, type TimestampVerification } from "./verify-token.js";
export { verifyTsaAnchor, type NamedTsa, type TsaAnchorContext } from "./verify-anchor.js";
export { TSA_BUDGET, type TsaBudget } from "./budget.js";
export { tsaTokenDigest } from "./token-digest.js";
export { verifyTimestampTokenOffThread } from "./off-thread.js";
