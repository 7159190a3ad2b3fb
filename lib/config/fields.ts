/**
 * Readers for the value kinds several configuration files share: URLs with an allowed
 * scheme, and paths resolved against the configuration directory. Pure: no file access.
 */
import { isAbsolute, resolve } from "node:path";
import { shown, type Section } from "./problems.js";

/**
 * The URL at `s` if it parses and has one of `schemes` (e.g. `["http:", "https:"]`), else an error at `s`.
 * @example url(section.at("rpcUrl"), ["http:", "https:"]) // "http://127.0.0.1:8545"
 */
export function url(s: Section, schemes: readonly string[]): string | undefined {
  const text = s.string();
  if (text === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return s.error(`expected a URL, got ${shown(text)}`);
  }
  if (!schemes.includes(u.protocol)) return s.error(`expected a ${schemes.join(" or ")} URL`);
  return text;
}

/**
 * The path at `s`, made absolute against `dir`.
 * @example path(section.at("trustBundle"), "/etc/vmsh") // "/etc/vmsh/certs/tsa.pem"
 */
export function path(s: Section, dir: string): string | undefined {
  const p = s.string();
  return p === undefined ? undefined : isAbsolute(p) ? p : resolve(dir, p);
}
