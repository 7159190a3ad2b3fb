/**
 * The `explorer` key of federation.yaml (docs/EXPLORER.md §Access): whether the web
 * explorer and its read-only API answer clients other than loopback, the bearer token they
 * must then present, and the per-client request allowance. Pure, like the rest of validate.ts.
 */
import type { Section } from "./problems.js";

export interface ExplorerConfig {
  /** Answer non-loopback clients (with `token`). False: loopback only. */
  public: boolean;
  /** The bearer token non-loopback clients present; required when `public`. */
  token?: string;
  /** API requests per minute per client address (token bucket). */
  ratePerMin: number;
  /**
   * `explorer.public_url`: the URL people open the explorer at (behind a reverse proxy, say);
   * its host is accepted in `Host` besides the node's own address and localhost (docs/EXPLORER.md §Access).
   */
  publicUrl?: string;
}

/** A token shorter than this is guessable over a network; 32 characters of base64 are 192 bits. */
export const MIN_TOKEN_LENGTH = 32;
export const DEFAULT_EXPLORER: Readonly<ExplorerConfig> = { public: false, ratePerMin: 600 };

/**
 * Reads `explorer` from federation.yaml, recording every problem under its key path.
 * @example explorerConfig(root.at("explorer")) // { public: false, ratePerMin: 600 } when absent
 */
export function explorerConfig(s: Section): ExplorerConfig {
  if (!s.present) return { ...DEFAULT_EXPLORER };
  if (s.mapping(["public", "token", "rate_per_min", "public_url"]) === undefined) return { ...DEFAULT_EXPLORER };
  const publicS = s.at("public");
  let isPublic = false;
  if (publicS.present) {
    if (typeof publicS.value === "boolean") isPublic = publicS.value;
    else publicS.error("expected true or false");
  }
  const tokenS = s.at("token");
  const token = tokenS.string();
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) tokenS.error(`is ${token.length} characters; use at least ${MIN_TOKEN_LENGTH} (e.g. \${VMSH_EXPLORER_TOKEN} set to the output of \`openssl rand -base64 32\`)`);
  if (isPublic && !tokenS.present) tokenS.error("is required when explorer.public is true: non-loopback clients must present it as a bearer token");
  if (!isPublic && token !== undefined) s.problems.warn(s.file, tokenS.path, "is unused: explorer.public is not true, so only loopback clients are answered");
  const ratePerMin = s.at("rate_per_min").integer(1, 1_000_000, "a positive integer") ?? DEFAULT_EXPLORER.ratePerMin;
  const publicUrl = publicUrlOf(s.at("public_url"));
  const out: ExplorerConfig = token !== undefined && token.length >= MIN_TOKEN_LENGTH ? { public: isPublic, token, ratePerMin } : { public: isPublic, ratePerMin };
  if (publicUrl !== undefined) out.publicUrl = publicUrl;
  return out;
}

/** `explorer.public_url`: an http(s) URL with a host and nothing after the path. */
function publicUrlOf(s: Section): string | undefined {
  const text = s.string();
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    s.error(`is not a URL: expected e.g. "https://explorer.example.org/"`);
    return undefined;
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.hostname === "" || url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    s.error(`expected an http or https URL with a host and no user, query or fragment, e.g. "https://explorer.example.org/"`);
    return undefined;
  }
  return url.href;
}
