/**
 * One Bitcoin Core JSON-RPC call over HTTP with Basic auth. Core answers errors
 * as `{ result: null, error: { code, message }, id }`, with HTTP 500 (404 for an
 * unknown method); those are returned as `rpc-error` so callers can map Core's
 * codes. Anything that is not a usable answer becomes a `pending` result.
 */
import { unreachable, type VerificationResult } from "../result.js";
import { sendRequest, type EndpointTarget } from "./transport.js";

/** RPC_INVALID_ADDRESS_OR_KEY: "No such mempool or blockchain transaction", "Block not found"… */
export const RPC_INVALID_ADDRESS_OR_KEY = -5;
/** RPC_INVALID_PARAMETER: e.g. "Block height out of range". */
export const RPC_INVALID_PARAMETER = -8;

export type RpcAnswer =
  | { kind: "result"; result: unknown }
  | { kind: "rpc-error"; code: number; message: string }
  | { kind: "failed"; result: VerificationResult };

let nextId = 1;

/**
 * Calls `method` with positional `params`.
 * @example await callCore(target, "getblockcount", [], 10_000) // { kind: "result", result: 812345 }
 */
export async function callCore(target: EndpointTarget, method: string, params: unknown[], timeoutMs: number): Promise<RpcAnswer> {
  const body = JSON.stringify({ jsonrpc: "1.0", id: nextId++, method, params });
  const answer = await sendRequest(target, "", { method: "POST", body, contentType: "application/json" }, timeoutMs);
  if (!answer.ok) return { kind: "failed", result: unreachable(answer.unreachable) };
  if (answer.status === 401 || answer.status === 403) {
    return { kind: "failed", result: unreachable(`btc endpoint ${target.label} refused the credentials (HTTP ${answer.status})`) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === "object" && parsed !== null) {
    const { result, error } = parsed as { result?: unknown; error?: unknown };
    if (typeof error === "object" && error !== null) {
      const { code, message } = error as { code?: unknown; message?: unknown };
      if (typeof code === "number") return { kind: "rpc-error", code, message: typeof message === "string" ? message.slice(0, 200) : "" };
    }
    if (answer.status === 200 && (error === null || error === undefined) && result !== undefined) return { kind: "result", result };
  }
  const what = answer.status === 200 ? "an answer that is not JSON-RPC" : `HTTP ${answer.status}`;
  return { kind: "failed", result: unreachable(`btc endpoint ${target.label} answered ${method} with ${what}`) };
}

/**
 * A `pending` result for an RPC error that says nothing about the anchor itself (node warming up, method disabled…).
 * @example endpointTrouble(target, "getblockcount", { code: -28, message: "Loading block index…" })
 */
export function endpointTrouble(target: EndpointTarget, method: string, error: { code: number; message: string }): VerificationResult {
  return unreachable(`btc endpoint ${target.label} failed ${method}: RPC error ${error.code} ${error.message}`.trim());
}
