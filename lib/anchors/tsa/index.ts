/**
 * RFC 3161 time-stamp verification (docs/ANCHORS.md §RFC 3161 time-stamps): the token verifier and the
 * `rfc3161:<name>` anchor verifier built on it. docs/ANCHORS.md lists the checks.
 */
export { verifyTimestampToken, type TimestampExpectation, type TimestampOptions, type TimestampVerification } from "./verify-token.js";
export { verifyTsaAnchor, type TsaAnchorContext } from "./verify-anchor.js";
