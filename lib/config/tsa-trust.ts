/**
 * Reads the certificate files anchors.yaml names under `rfc3161` (the I/O half of the TSA
 * configuration): each must hold at least one PEM certificate that parses, and a problem
 * names the file, the key and the path. The verifiers receive the PEM text, never a path.
 */
import { X509Certificate } from "node:crypto";
import type { TsaTrust } from "../anchors/endpoints.js";
import type { NamedTsa } from "../anchors/tsa/verify-anchor.js";
import { MAX_CERTIFICATE_FILE_BYTES, readBoundedFile } from "../bounded-file.js";
import { ConfigError } from "../errors.js";
import { keyPath } from "./problems.js";
import type { AnchorsConfig } from "./types.js";

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]*?-----END CERTIFICATE-----/g;

async function readPem(file: string, key: (string | number)[], problems: string[]): Promise<string | undefined> {
  const where = `anchors.yaml: ${keyPath(key)}: ${file}`;
  const read = await readBoundedFile(file, MAX_CERTIFICATE_FILE_BYTES);
  if (!read.ok) {
    problems.push(`${where} ${read.reason === "missing" ? "cannot be read: ENOENT" : read.why}`);
    return undefined;
  }
  const text = read.text;
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) {
    problems.push(`${where} holds no PEM certificate`);
    return undefined;
  }
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (cause) {
      problems.push(`${where}: certificate #${i + 1} does not parse: ${(cause as Error).message}`);
      return undefined;
    }
  }
  return text;
}

/**
 * The PEM text of every file under `anchors.rfc3161`; undefined when no TSA is configured.
 * Throws ConfigError listing every unreadable or certificate-less file.
 * @example config.tsaTrust = await readTsaTrust(config.anchors)
 */
export async function readTsaTrust(anchors: AnchorsConfig): Promise<TsaTrust | undefined> {
  const files = anchors.rfc3161;
  if (files === undefined) return undefined;
  const problems: string[] = [];
  const trust: TsaTrust = { tsas: new Map() };
  const tsas = trust.tsas as Map<string, NamedTsa>;
  if (files.trustBundle !== undefined) {
    const pem = await readPem(files.trustBundle, ["rfc3161", "trustBundle"], problems);
    if (pem !== undefined) trust.trustPem = pem;
  }
  if (files.intermediates !== undefined) {
    const pem = await readPem(files.intermediates, ["rfc3161", "intermediates"], problems);
    if (pem !== undefined) trust.intermediatesPem = pem;
  }
  for (const [name, tsa] of files.tsas) {
    const named: NamedTsa = tsa.subject === undefined ? {} : { subject: tsa.subject };
    if (tsa.trustBundle !== undefined) {
      const pem = await readPem(tsa.trustBundle, ["rfc3161", "tsas", name, "trustBundle"], problems);
      if (pem !== undefined) named.trustPem = pem;
    }
    tsas.set(name, named);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return trust;
}
