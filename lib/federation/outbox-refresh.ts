/**
 * Re-signing a queued message before a retry. A receiver refuses a message whose `ts` is
 * further than its clock skew from its own clock (docs/FEDERATION_PROTOCOL.md §Verification order, default 300 s), so an Announce that
 * waited out a peer's outage would be refused as STALE_TIMESTAMP if sent as first signed.
 */
import type { KeyObject } from "node:crypto";
import { ArgumentError } from "../errors.js";
import { signMessage, type SignedMessage } from "../messages/authenticate.js";
import { unsigned } from "../messages/canonical.js";

/**
 * An `OutboxOptions.refresh` that gives the message `ts = nowS` and a new signature with
 * `privateKey`, which must be the key of the message's `signer` (this node). Messages
 * already within `freshForS` seconds of now are sent unchanged.
 * @example new Outbox(store, client, { refresh: resignWith(nodeKey.privateKey) })
 */
export function resignWith(privateKey: KeyObject, freshForS = 60): (message: unknown, nowS: number) => unknown {
  if (typeof privateKey !== "object" || privateKey === null || privateKey.type !== "private") throw new ArgumentError("privateKey", "must be a private KeyObject");
  return (message, nowS) => {
    const m = message as Partial<SignedMessage> | null;
    if (typeof m !== "object" || m === null || typeof m.signer !== "string" || typeof m.ts !== "number") return message;
    if (Math.abs(nowS - m.ts) <= freshForS) return message;
    return signMessage({ ...unsigned(m as SignedMessage), ts: nowS }, privateKey);
  };
}
