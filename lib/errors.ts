/**
 * One error type for the whole product: a stable string `code` that scripts and tests match
 * on, a message a person can act on, optional `details`, and `cause`. Subclasses group the
 * domains. What a code means to a user of the command line (its exit code, a hint about which
 * flag to pass) is the CLI's policy and lives in commands/exit-codes.ts, not here.
 */

/**
 * Codes a node answers over HTTP (docs/FEDERATION_PROTOCOL.md §Verification order
 * and §Errors); a test pins this list against that document.
 */
export const WIRE_ERROR_CODES = [
  "MALFORMED",
  "MALFORMED_JSON",
  "MALFORMED_HTTP",
  "BODY_TOO_LARGE",
  "INFLATED_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "HEADERS_TOO_LARGE",
  "REQUEST_TIMEOUT",
  "SIGNER_UNKNOWN",
  "ROLE_FORBIDDEN",
  "NAMESPACE_NOT_ROUTED",
  "STALE_TIMESTAMP",
  "REPLAY",
  "SIG_INVALID",
  "RATE_LIMITED",
  "BUDGET_EXHAUSTED",
  "SHUTTING_DOWN",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "FORBIDDEN",
  "WRONG_AUDIENCE",
] as const;
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

/** Codes the explorer's page and API answer (docs/EXPLORER.md); a test pins the list against that document. */
export const EXPLORER_ERROR_CODES = ["UNAUTHORIZED", "BAD_QUERY", "BAD_PATH", "BODY_NOT_ALLOWED", "TOO_MANY_STREAMS", "NOT_BUILT", "HOST_NOT_ALLOWED"] as const;
export type ExplorerErrorCode = (typeof EXPLORER_ERROR_CODES)[number];

/** A peer this node asked did not answer usefully (raised on the asking side, never sent). */
export type PeerErrorCode = "PEER_FAILED" | "PEER_BUNDLE_INVALID" | "PEER_LEAVES_MISMATCH" | "PEER_RECONCILE_INVALID" | "PEER_RECONCILE_FAILED";

/** The state directory (docs/STATE.md). */
export type StoreErrorCode =
  | "STATE_CORRUPT"
  | "STATE_UNREADABLE"
  | "STATE_UNWRITABLE"
  | "STATE_READ_ONLY"
  | "STATE_WRITE_FAILED"
  | "STATE_LOCKED"
  | "STATE_INVALID_WRITE"
  | "STATE_FORMAT_UNSUPPORTED"
  | "STATE_CLOSED"
  | "STATE_INDEX_NOT_LOADED"
  | "BATCH_NOT_FOUND";

/**
 * Everything else: configuration, the command line, local input files, the key, the library
 * API, and the machine refusing what serve or a command needs (a port, a directory).
 */
export type LocalErrorCode =
  | "CONFIG_INVALID"
  | "USAGE"
  | "ARGUMENT_INVALID"
  | "KEY_EXISTS"
  | "INIT_EXISTS"
  | "SEALER_FILE_UNREADABLE"
  | "SEALER_FILE_INVALID"
  | "BATCH_ROOT_MISMATCH"
  | "SEALER_RECEIPT_MISMATCH"
  | "TSA_FAILED"
  | "LISTEN_FAILED"
  | "STATE_UNUSABLE"
  | "DIR_UNUSABLE"
  | "DIR_OWNER"
  | "ROSTER_REFUSED";

export type ErrorCode = WireErrorCode | ExplorerErrorCode | PeerErrorCode | StoreErrorCode | LocalErrorCode;

export interface VmshErrorOptions {
  details?: string | undefined;
  cause?: unknown;
}

export class VmshError extends Error {
  override name = "VmshError";
  readonly code: ErrorCode;
  readonly details: string | undefined;

  constructor(code: ErrorCode, message: string, options: VmshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}

/** A configuration file is missing, unreadable or invalid. Message names the file and key path. */
export class ConfigError extends VmshError {
  override name = "ConfigError";
  /** Every problem found, each `file: key.path: what is wrong`. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[], options: VmshErrorOptions = {}) {
    super("CONFIG_INVALID", problems.length === 1 ? problems[0]! : `${problems.length} configuration errors:\n  ${problems.join("\n  ")}`, options);
    this.problems = problems;
  }
}

/** The command line was used wrongly (unknown option value, missing argument). */
export class UsageError extends VmshError {
  override name = "UsageError";
  constructor(message: string, options: VmshErrorOptions = {}) {
    super("USAGE", message, options);
  }
}

/** A message from a peer failed validation or authentication; `status` is the HTTP answer (docs/FEDERATION_PROTOCOL.md §Errors). */
export class ProtocolError extends VmshError {
  override name = "ProtocolError";
  declare readonly code: WireErrorCode | ExplorerErrorCode | PeerErrorCode;
  readonly status: number;
  constructor(code: WireErrorCode | ExplorerErrorCode | PeerErrorCode, status: number, message: string, options: VmshErrorOptions = {}) {
    super(code, message, options);
    this.status = status;
  }
}

/** Stored state is unreadable, corrupt or locked. Never repaired silently. */
export class StoreError extends VmshError {
  override name = "StoreError";
  declare readonly code: StoreErrorCode;
  readonly path: string | undefined;
  constructor(code: StoreErrorCode, message: string, options: VmshErrorOptions & { path?: string } = {}) {
    super(code, message, options);
    this.path = options.path;
  }
}

/** Caller's mistake in the library API (wrong argument type or shape). Names the parameter. */
export class ArgumentError extends VmshError {
  override name = "ArgumentError";
  constructor(parameter: string, message: string) {
    super("ARGUMENT_INVALID", `${parameter}: ${message}`);
  }
}
