/**
 * What an outbound call to a peer can end in when it does not succeed: network faults mapped
 * to stable codes, and the JSON error body (docs/FEDERATION_PROTOCOL.md §Errors) (`{ error: { code, message } }`) read from
 * a 4xx/5xx answer. Decides what is worth retrying. No I/O.
 */

/** A failed call: `status` when the peer answered, `retryAfterS` from its Retry-After. */
export interface PeerFailure {
  ok: false;
  status?: number;
  code: string;
  message: string;
  retryAfterS?: number;
  retryable: boolean;
}

const NETWORK_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: "CONNECTION_REFUSED",
  ECONNRESET: "CONNECTION_RESET",
  EPIPE: "CONNECTION_RESET",
  UND_ERR_SOCKET: "CONNECTION_RESET",
  UND_ERR_CLOSED: "CONNECTION_RESET",
  ENOTFOUND: "DNS_FAILED",
  EAI_AGAIN: "DNS_FAILED",
  EHOSTUNREACH: "HOST_UNREACHABLE",
  ENETUNREACH: "HOST_UNREACHABLE",
  ETIMEDOUT: "CONNECT_TIMEOUT",
  UND_ERR_CONNECT_TIMEOUT: "CONNECT_TIMEOUT",
  UND_ERR_HEADERS_TIMEOUT: "HEADERS_TIMEOUT",
  UND_ERR_BODY_TIMEOUT: "BODY_TIMEOUT",
};

function errorCode(error: unknown): string | undefined {
  if (error instanceof AggregateError && error.errors.length > 0) return errorCode(error.errors[0]);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== error ? errorCode(cause) : undefined;
}

function isTlsCode(code: string): boolean {
  return /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/.test(code);
}

/**
 * Maps an exception thrown by the HTTP stack to a failure. Every network fault is retryable:
 * a peer that is down, restarting or behind a broken proxy may be back on the next try.
 * `secrets` (the URL's user name and password) are cut out of the message.
 * @example networkFailure(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }), "http://127.0.0.1:9", [])
 */
export function networkFailure(error: unknown, origin: string, secrets: readonly string[]): PeerFailure {
  const raw = errorCode(error);
  const code = raw === undefined ? "NETWORK_ERROR" : (NETWORK_CODES[raw] ?? (isTlsCode(raw) ? "TLS_FAILED" : "NETWORK_ERROR"));
  const detail = error instanceof Error ? error.message : String(error);
  return { ok: false, code, message: redact(`${origin}: ${raw ?? "error"} ${detail}`.trim(), secrets), retryable: true };
}

/**
 * Whether an HTTP status is worth retrying: 408, 425, 429 and every 5xx; other 4xx are
 * answers about the message itself, which the same message would get again.
 * @example isRetryableStatus(503) // true
 * @example isRetryableStatus(403) // false
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

const CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * The failure for a non-2xx answer, using the peer's `{ error: { code, message } }` when it
 * sent one (codes and messages are sanitised: they end up in logs), else `HTTP_<status>`.
 * @example statusFailure(403, "Forbidden", { error: { code: "ROLE_FORBIDDEN", message: "…" } }, undefined)
 */
export function statusFailure(status: number, statusText: string, body: unknown, retryAfterS: number | undefined): PeerFailure {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null | undefined)?.error;
  const code = typeof error?.code === "string" && CODE_PATTERN.test(error.code) ? error.code : `HTTP_${status}`;
  const message = typeof error?.message === "string" && error.message !== "" ? printable(error.message) : `${status} ${printable(statusText)}`.trim();
  const failure: PeerFailure = { ok: false, status, code, message, retryable: isRetryableStatus(status) };
  if (retryAfterS !== undefined) failure.retryAfterS = retryAfterS;
  return failure;
}

/** A peer's text made safe for one log line: no control characters, at most 500 characters. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ");
  return clean.length > 500 ? `${clean.slice(0, 500)}…` : clean;
}

/** `text` with each non-empty secret replaced by `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s !== "") out = out.split(s).join("***");
  return out;
}
