/**
 * Validates anchors.yaml (docs/FEDERATION_OPERATIONS.md "anchors.yaml", docs/ANCHORS.md): EVM
 * and Bitcoin endpoints, Bitcoin endpoint agreement, and the TSA trust files and named TSAs.
 * Pure: paths are resolved as strings; loadConfig reads the certificate files.
 */
import { BTC_NETWORKS, type BtcNetwork } from "../anchors/anchor.js";
import type { BtcEndpoint } from "../anchors/endpoints.js";
import { path, url } from "./fields.js";
import type { Section } from "./problems.js";
import type { AnchorsConfig, TsaFiles } from "./types.js";

const TSA_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Loopback hosts: the only ones plain http may reach without `insecure: true`. */
function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** One Bitcoin endpoint mapping `{ rpcUrl } | { esploraUrl }`; plain http to another host needs `insecure`. */
function btcEndpoint(s: Section, network: string, insecure: boolean, listItem: boolean): BtcEndpoint | undefined {
  // A list item holds only the URL; the network's own mapping was checked by the caller.
  if (listItem && s.mapping(["rpcUrl", "esploraUrl"]) === undefined) return s.present ? undefined : s.error("expected { rpcUrl } or { esploraUrl }");
  const rpcUrl = url(s.at("rpcUrl"), ["http:", "https:"]);
  const esploraUrl = url(s.at("esploraUrl"), ["http:", "https:"]);
  if (rpcUrl !== undefined && esploraUrl !== undefined) return s.error("give rpcUrl or esploraUrl, not both");
  const endpoint: BtcEndpoint | undefined = rpcUrl !== undefined ? { rpcUrl } : esploraUrl !== undefined ? { esploraUrl } : undefined;
  if (endpoint === undefined) return s.present ? s.error("needs rpcUrl (Bitcoin Core JSON-RPC) or esploraUrl (Esplora REST)") : undefined;
  const key = "rpcUrl" in endpoint ? "rpcUrl" : "esploraUrl";
  const u = new URL("rpcUrl" in endpoint ? endpoint.rpcUrl : endpoint.esploraUrl);
  if (u.protocol === "http:" && !isLoopback(u.hostname) && !insecure) {
    // Credentials and every answer the verifier trusts would cross the network unprotected.
    return s.at(key).error(`plain http to ${u.hostname}, which is not a loopback host: use https, or set btc.${network}.insecure: true`);
  }
  return endpoint;
}

function btc(root: Section, out: AnchorsConfig): void {
  const btcS = root.at("btc");
  for (const network of Object.keys(btcS.mapping() ?? {})) {
    const s = btcS.at(network);
    if (!(BTC_NETWORKS as readonly string[]).includes(network)) {
      s.error(`unknown Bitcoin network (networks: ${BTC_NETWORKS.join(", ")})`);
      continue;
    }
    if (!s.mapping(["rpcUrl", "esploraUrl", "endpoints", "agree", "insecure"])) {
      if (s.present) continue;
      s.error("needs rpcUrl, esploraUrl or endpoints");
      continue;
    }
    const insecureS = s.at("insecure");
    if (insecureS.present && typeof insecureS.value !== "boolean") insecureS.error("expected true or false");
    const insecure = insecureS.value === true;
    const listS = s.at("endpoints");
    const endpoints: BtcEndpoint[] = [];
    let bad = false;
    if (listS.present) {
      if (s.at("rpcUrl").present || s.at("esploraUrl").present) {
        s.error("give endpoints, or one rpcUrl/esploraUrl, not both");
        continue;
      }
      const list = listS.list() ?? [];
      if (listS.present && Array.isArray(listS.value) && list.length === 0) listS.error("expected at least one endpoint");
      list.forEach((_, i) => {
        const e = btcEndpoint(listS.at(i), network, insecure, true);
        if (e === undefined) bad = true;
        else endpoints.push(e);
      });
    } else {
      const e = btcEndpoint(s, network, insecure, false);
      if (e === undefined) bad = true;
      else endpoints.push(e);
    }
    // Strict by default: every configured endpoint must agree.
    let agree = endpoints.length;
    const agreeS = s.at("agree");
    if (agreeS.present) {
      const n = agreeS.integer(1, Math.max(1, endpoints.length), `an integer from 1 to the number of endpoints (${endpoints.length})`);
      if (n === undefined) bad = true;
      else agree = n;
    }
    if (!bad && endpoints.length > 0) out.btc.set(network as BtcNetwork, { endpoints, agree });
  }
}

function tsa(root: Section, dir: string, out: AnchorsConfig): void {
  const s = root.at("rfc3161");
  if (!s.present || !s.mapping(["trustBundle", "intermediates", "tsas"])) return;
  const trustBundle = path(s.at("trustBundle"), dir);
  const intermediates = path(s.at("intermediates"), dir);
  const files: TsaFiles = { tsas: new Map() };
  if (trustBundle !== undefined) files.trustBundle = trustBundle;
  if (intermediates !== undefined) files.intermediates = intermediates;
  const tsasS = s.at("tsas");
  for (const name of Object.keys(tsasS.mapping() ?? {})) {
    const t = tsasS.at(name);
    if (!TSA_NAME.test(name)) {
      t.error("is not a TSA name (letters, digits, '.', '_', '-'; the <name> of rfc3161:<name>)");
      continue;
    }
    if (!t.required()?.mapping(["trustBundle", "subject"])) continue;
    const own = path(t.at("trustBundle"), dir);
    const subject = t.at("subject").string();
    if (own === undefined && subject === undefined) {
      t.error("needs trustBundle (this TSA's roots) or subject (its signer certificate's subject), or both");
      continue;
    }
    if (own === undefined && trustBundle === undefined) {
      t.error("has only a subject, so its tokens must chain to rfc3161.trustBundle, which is not set");
      continue;
    }
    files.tsas.set(name, { ...(own === undefined ? {} : { trustBundle: own }), ...(subject === undefined ? {} : { subject }) });
  }
  if (trustBundle === undefined && files.tsas.size === 0) {
    if (!tsasS.present) s.at("trustBundle").error("is required (roots any TSA may chain to), unless TSAs are named under rfc3161.tsas");
    return;
  }
  out.rfc3161 = files;
}

/**
 * The anchors.yaml part of a node's configuration; problems go to `root`'s Problems.
 * @example anchors(new Section(problems, "anchors.yaml", [], yaml), "/etc/vmsh")
 */
export function anchors(root: Section, dir: string): AnchorsConfig {
  const out: AnchorsConfig = { eip155: new Map(), btc: new Map() };
  if (!root.present) return out;
  root.mapping(["eip155", "btc", "rfc3161"]);
  const evm = root.at("eip155");
  for (const id of Object.keys(evm.mapping() ?? {})) {
    const s = evm.at(id);
    if (!/^[1-9][0-9]{0,18}$/.test(id)) s.error("expected a decimal chain id such as \"1\" or \"8453\"");
    s.mapping(["rpcUrl", "contract"]);
    const rpcUrl = url(s.at("rpcUrl").required() ?? s.at("rpcUrl"), ["http:", "https:"]);
    const contractS = s.at("contract");
    const contract = contractS.string();
    if (contract !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(contract)) contractS.error("expected a 0x-prefixed 20-byte address");
    if (rpcUrl !== undefined) out.eip155.set(id, contract !== undefined ? { rpcUrl, contract: contract.toLowerCase() } : { rpcUrl });
  }
  btc(root, out);
  tsa(root, dir, out);
  return out;
}
