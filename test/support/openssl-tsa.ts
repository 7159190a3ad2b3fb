/**
 * A throwaway PKI and time-stamp authority made with the `openssl` CLI (docs/RELIABILITY.md §How the tests are built):
 * a root CA, an issuing CA, and TSA signer certificates in several profiles, in a
 * temp directory. `mint` answers an `openssl ts -query` with `openssl ts -reply`;
 * `signTstInfo` wraps given TSTInfo bytes with `openssl cms -sign -cades` for the
 * profiles `openssl ts -reply` refuses to sign with (no or non-critical EKU) and for
 * RSASSA-PSS. Used by the TSA verifier tests and reusable by demos.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Signer certificate profiles. `twin` has the subject, serial, issuer and key of `rsa` but other
 * dates; `rehomed` has the subject, serial and key of `rsa` but is issued directly by the other root;
 * `unknown-critical` carries a critical private extension; `rsa-1024` has a 1024-bit key.
 */
export const SIGNER_PROFILES = ["rsa", "ecdsa", "no-eku", "noncritical-eku", "expired", "not-yet-valid", "twin", "rehomed", "unknown-critical", "rsa-1024"] as const;
export type SignerProfile = (typeof SIGNER_PROFILES)[number];

export interface MintOptions {
  signer?: SignerProfile;
  /** Ask the TSA to embed its certificate (and the issuing CA): `openssl ts -query -cert`. Default true. */
  embedCerts?: boolean;
  /** SigningCertificate (ESSCertID, SHA-1) or SigningCertificateV2 (ESSCertIDv2, SHA-256). Default "v2". */
  essCertId?: "v1" | "v2";
  /** Imprint algorithm of the query. Default sha256. */
  imprint?: "sha1" | "sha256" | "sha384" | "sha512";
  /** Return the bare TimeStampToken (ContentInfo) instead of the TimeStampResp. */
  bareToken?: boolean;
  /** Leave the nonce out of the query (shorter tokens). */
  noNonce?: boolean;
}

export interface OpensslTsa {
  dir: string;
  /** The trust anchor: root CA certificate, PEM. */
  rootPem: string;
  /** An unrelated root CA, PEM, for "untrusted root" cases. */
  otherRootPem: string;
  /** The issuing CA between the root and the TSA certificates, PEM. */
  issuingPem: string;
  certPem(profile: SignerProfile): string;
  mint(data: Uint8Array, options?: MintOptions): Uint8Array;
  /** Answers a DER TimeStampReq made elsewhere (`openssl ts -reply -queryfile`), signed by `signer` (default rsa). */
  reply(query: Uint8Array, signer?: SignerProfile): Uint8Array;
  /** `keyId`: name the signer by subjectKeyIdentifier instead of issuer and serial (`openssl cms -keyid`). */
  signTstInfo(tstInfo: Uint8Array, options: { signer: SignerProfile; pss?: boolean; embedCerts?: boolean; keyId?: boolean }): Uint8Array;
  cleanup(): void;
}

const TSA_SUBJECT = "/O=vmsh test/CN=vmsh test TSA";
const DAY = 86_400_000;

const openssl = (dir: string, args: string[]): void => {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
};

const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";

const CA_CONFIG = `
[ ca ]
default_ca = ca_default
[ ca_default ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
organizationName = optional
commonName = supplied
[ ext_ca ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ext_tsa ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ext_tsa_noncritical ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ext_tsa_unknown_critical ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
1.3.6.1.4.1.99999.7 = critical, ASN1:NULL
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ext_tsa_noeku ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

const tsaConfig = (essCertId: "v1" | "v2", signerDigest: string): string => `
[ tsa ]
default_tsa = tsa_section
[ tsa_section ]
serial = tsaserial
crypto_device = builtin
signer_digest = ${signerDigest}
default_policy = 1.3.6.1.4.1.99999.1
digests = sha1, sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = ${essCertId === "v1" ? "sha1" : "sha256"}
`;

/**
 * Makes the PKI in a fresh temp directory (a few openssl calls, well under a second).
 * @example
 * const tsa = createOpensslTsa(); t.after(() => tsa.cleanup());
 * const tsr = tsa.mint(new TextEncoder().encode("hello"));
 */
export function createOpensslTsa(): OpensslTsa {
  const dir = mkdtempSync(join(tmpdir(), "vmsh-tsa-"));
  try {
    writeFileSync(join(dir, "ca.cnf"), CA_CONFIG);
    writeFileSync(join(dir, "tsaserial"), "01\n");
    const now = Date.now();
    openssl(dir, ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "root.key"]);
    openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other-root.key"]);
    openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "issuing.key"]);
    openssl(dir, ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "tsa-rsa.key"]);
    openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "tsa-ec.key"]);
    openssl(dir, ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "tsa-rsa-1024.key"]);
    const selfSigned = (key: string, subject: string, out: string): void =>
      openssl(dir, ["req", "-x509", "-new", "-key", key, "-subj", subject, "-days", "3650", "-sha256", "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", out]);
    selfSigned("root.key", "/O=vmsh test/CN=vmsh test root CA", "root.pem");
    selfSigned("other-root.key", "/O=vmsh test/CN=vmsh unrelated root CA", "other-root.pem");

    const issue = (o: { key: string; subject: string; issuer: string; ext: string; serial: string; from: number; to: number; out: string }): void => {
      writeFileSync(join(dir, "index.txt"), "");
      writeFileSync(join(dir, "serial"), `${o.serial}\n`);
      openssl(dir, ["req", "-new", "-key", o.key, "-subj", o.subject, "-out", "req.csr"]);
      openssl(dir, ["ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", `${o.issuer}.pem`, "-keyfile", `${o.issuer}.key`, "-in", "req.csr", "-extensions", o.ext, "-startdate", stamp(o.from), "-enddate", stamp(o.to), "-out", o.out]);
    };
    const year = 365 * DAY;
    issue({ key: "issuing.key", subject: "/O=vmsh test/CN=vmsh test issuing CA", issuer: "root", ext: "ext_ca", serial: "1000", from: now - 2 * year, to: now + 5 * year, out: "issuing.pem" });
    const leaf = (key: string, ext: string, serial: string, from: number, to: number, out: string): void =>
      issue({ key, subject: TSA_SUBJECT, issuer: "issuing", ext, serial, from, to, out });
    leaf("tsa-rsa.key", "ext_tsa", "2001", now - year, now + 2 * year, "rsa.pem");
    leaf("tsa-rsa.key", "ext_tsa", "2001", now - year + DAY, now + 2 * year, "twin.pem");
    issue({ key: "tsa-rsa.key", subject: TSA_SUBJECT, issuer: "other-root", ext: "ext_tsa", serial: "2001", from: now - year, to: now + 2 * year, out: "rehomed.pem" });
    leaf("tsa-ec.key", "ext_tsa", "2002", now - year, now + 2 * year, "ecdsa.pem");
    leaf("tsa-rsa.key", "ext_tsa_noeku", "2003", now - year, now + 2 * year, "no-eku.pem");
    leaf("tsa-rsa.key", "ext_tsa_noncritical", "2004", now - year, now + 2 * year, "noncritical-eku.pem");
    leaf("tsa-rsa.key", "ext_tsa", "2005", now - year, now - DAY, "expired.pem");
    leaf("tsa-rsa.key", "ext_tsa", "2006", now + DAY, now + year, "not-yet-valid.pem");
    leaf("tsa-rsa.key", "ext_tsa_unknown_critical", "2007", now - year, now + 2 * year, "unknown-critical.pem");
    leaf("tsa-rsa-1024.key", "ext_tsa", "2008", now - year, now + 2 * year, "rsa-1024.pem");
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const read = (name: string): string => readFileSync(join(dir, name), "utf8");
  const keyOf = (profile: SignerProfile): string => (profile === "ecdsa" ? "tsa-ec.key" : profile === "rsa-1024" ? "tsa-rsa-1024.key" : "tsa-rsa.key");
  let counter = 0;

  return {
    dir,
    rootPem: read("root.pem"),
    otherRootPem: read("other-root.pem"),
    issuingPem: read("issuing.pem"),
    certPem: (profile) => read(`${profile}.pem`),
    mint(data, options = {}) {
      const n = ++counter;
      const signer = options.signer ?? "rsa";
      writeFileSync(join(dir, `data-${n}`), data);
      writeFileSync(join(dir, `tsa-${n}.cnf`), tsaConfig(options.essCertId ?? "v2", signer === "ecdsa" ? "sha384" : "sha256"));
      const query = ["ts", "-query", "-data", `data-${n}`, `-${options.imprint ?? "sha256"}`, "-out", `q-${n}.tsq`];
      if (options.embedCerts ?? true) query.push("-cert");
      if (options.noNonce) query.push("-no_nonce");
      openssl(dir, query);
      const reply = ["ts", "-reply", "-config", `tsa-${n}.cnf`, "-queryfile", `q-${n}.tsq`, "-signer", `${signer}.pem`, "-inkey", keyOf(signer), "-chain", "issuing.pem", "-out", `r-${n}.der`];
      if (options.bareToken) reply.push("-token_out");
      openssl(dir, reply);
      return Uint8Array.from(readFileSync(join(dir, `r-${n}.der`)));
    },
    reply(query, signer = "rsa") {
      const n = ++counter;
      writeFileSync(join(dir, `q-${n}.tsq`), query);
      writeFileSync(join(dir, `tsa-${n}.cnf`), tsaConfig("v2", signer === "ecdsa" ? "sha384" : "sha256"));
      openssl(dir, ["ts", "-reply", "-config", `tsa-${n}.cnf`, "-queryfile", `q-${n}.tsq`, "-signer", `${signer}.pem`, "-inkey", keyOf(signer), "-chain", "issuing.pem", "-out", `r-${n}.der`]);
      return Uint8Array.from(readFileSync(join(dir, `r-${n}.der`)));
    },
    signTstInfo(tstInfo, options) {
      const n = ++counter;
      writeFileSync(join(dir, `tst-${n}.der`), tstInfo);
      const args = ["cms", "-sign", "-binary", "-nodetach", "-cades", "-nosmimecap", "-econtent_type", "1.2.840.113549.1.9.16.1.4", "-in", `tst-${n}.der`, "-signer", `${options.signer}.pem`, "-inkey", keyOf(options.signer), "-md", "sha256", "-outform", "DER", "-out", `cms-${n}.der`];
      if (options.pss) args.push("-keyopt", "rsa_padding_mode:pss", "-keyopt", "rsa_pss_saltlen:32");
      if (options.keyId) args.push("-keyid");
      if (options.embedCerts === false) args.push("-nocerts");
      else args.push("-certfile", "issuing.pem");
      openssl(dir, args);
      return Uint8Array.from(readFileSync(join(dir, `cms-${n}.der`)));
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
