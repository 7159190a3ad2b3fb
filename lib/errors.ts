/**
 * One error type for the whole product: a stable string `code` that scripts and
 * tests match on, a message a person can act on, optional `details`, and `cause`.
 * Subclasses group the domains; `exitCode` is what the CLI maps them to (SPEC §7).
 */

export interface VmshErrorOptions {
  details?: string | undefined;
  cause?: unknown;
  /** Exit code the CLI uses: 1 (default) for a failure, 2 for a usage or configuration problem. */
  exitCode?: 1 | 2;
}

export class VmshError extends Error {
  override name = "VmshError";
  readonly code: string;
  readonly details: string | undefined;
  /** Process exit code the CLI uses for this error: 1 failure, 2 usage/configuration. */
  readonly exitCode: 1 | 2;

  constructor(code: string, message: string, options: VmshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A configuration file is missing, unreadable or invalid. Message names the file and key path. */
export class ConfigError extends VmshError {
  override name = "ConfigError";
  /** Every problem found, each `file: key.path: what is wrong`. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[], options: VmshErrorOptions = {}) {
    super("CONFIG_INVALID", problems.length === 1 ? problems[0]! : `${problems.length} configuration errors:\n  ${problems.join("\n  ")}`, { ...options, exitCode: 2 });
    this.problems = problems;
  }
}

/** The command line was used wrongly (unknown option value, missing argument). */
export class UsageError extends VmshError {
  override name = "UsageError";
  constructor(message: string, options: VmshErrorOptions = {}) {
    super("USAGE", message, { ...options, exitCode: 2 });
  }
}

/** A message from a peer failed validation or authentication; `status` is the HTTP answer (SPEC §3). */
export class ProtocolError extends VmshError {
  override name = "ProtocolError";
  readonly status: number;
  constructor(code: string, status: number, message: string, options: VmshErrorOptions = {}) {
    super(code, message, options);
    this.status = status;
  }
}

/** Stored state is unreadable, corrupt or locked. Never repaired silently. */
export class StoreError extends VmshError {
  override name = "StoreError";
  readonly path: string | undefined;
  constructor(code: string, message: string, options: VmshErrorOptions & { path?: string } = {}) {
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
