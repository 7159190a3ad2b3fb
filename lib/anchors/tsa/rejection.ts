/**
 * The one exception the TSA parsers and checks raise internally. It never leaves
 * this directory: `verifyTimestampToken` turns it into `{ outcome: "rejected", reason }`.
 */

/** A token failed a check; `message` is the reason reported to the caller. */
export class TokenRejection extends Error {
  override name = "TokenRejection";
}

/**
 * Throws a {@link TokenRejection} with `reason` unless `condition` holds.
 * @example demand(version === 1n, "malformed TSTInfo: version")
 */
export function demand(condition: boolean, reason: string): asserts condition {
  if (!condition) throw new TokenRejection(reason);
}
