/**
 * node-forge's ASN.1 codec and its byte buffer, and nothing else of node-forge: the package's
 * index loads every module it has (ciphers, TLS, PKCS#12, SSH: about 30 ms at each start of the
 * TSA worker thread) where the DER reader (./der.js) needs these two, about 4 ms
 * (docs/BENCHMARKS.md "Fifth pass: bundles"). They are the very objects `forge.asn1` and
 * `forge.util` name once the index has loaded.
 */
import type forgeTypes from "node-forge";
import asn1 from "node-forge/lib/asn1.js";
import util from "node-forge/lib/util.js";

export const forge = { asn1: asn1 as typeof forgeTypes.asn1, util: util as typeof forgeTypes.util };
