/**
 * `verifyMessage` (README.md §Development): schema and authentication in one call, for a script or
 * service that receives a federation message as parsed JSON.
 */
import type { ProtocolError } from "../errors.js";
import { authenticate, type AuthenticateContext } from "./authenticate.js";
import { parseMessage, type Message } from "./schema.js";

export type VerifyMessageContext = AuthenticateContext;

export type VerifyMessageResult = { ok: true; message: Message; digest: string } | { ok: false; error: ProtocolError };

/**
 * Validates `value` as an Announce, Request or Bundle and runs the checks of docs/FEDERATION_PROTOCOL.md §Verification order
 * (allowlist, role, routing, recipient, skew, replay, signature). Never throws on peer data.
 * @example
 * const r = verifyMessage(JSON.parse(body), { peers, isRouted, now: () => Date.now() / 1000 | 0, skewS: 300, replay, self: myDid });
 * if (!r.ok) console.error(r.error.code, r.error.message);
 */
export function verifyMessage(value: unknown, ctx: VerifyMessageContext): VerifyMessageResult {
  let message: Message;
  try {
    message = parseMessage(value);
  } catch (error) {
    return { ok: false, error: error as ProtocolError };
  }
  const auth = authenticate(message, ctx);
  return auth.ok ? { ok: true, message, digest: auth.digest } : { ok: false, error: auth.error };
}
