/**
 * Hostile time-stamp tokens minted with the real `openssl` CLI: the token's certificate bag
 * holds N CA certificates that share one subject name and one key, so every one of them
 * "issues" every other (and itself). A path builder that tries every ordering does N! work
 * before it concludes that none reaches a trusted root (docs/ANCHORS.md §Budgets).
 * The signer is a proper time-stamping certificate issued under that name, so the token gets
 * all the way to chain building.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const run = (dir: string, args: string[]): void => {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
};

const EXT = `
[ ext_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
[ ext_tsa ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
[ tsa ]
default_tsa = tsa_section
[ tsa_section ]
serial = tsaserial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256
ess_cert_id_alg = sha256
ess_cert_id_chain = no
`;

export interface CrossIssuingTsa {
  /** A TimeStampResp over sha256(`data`) whose certificate bag holds `cas` cross-issuing CAs. */
  mint(data: Uint8Array, cas: number): Uint8Array;
  /** PEM of one of the loop's CA certificates (not a root anyone should trust). */
  loopCaPem: string;
  cleanup(): void;
}

/**
 * Makes the key, the loop CA certificates (up to `maxCas`) and the TSA signer in a temp directory.
 * @example const h = createCrossIssuingTsa(24); const tsr = h.mint(rootBytes, 9); h.cleanup();
 */
export function createCrossIssuingTsa(maxCas: number): CrossIssuingTsa {
  const dir = mkdtempSync(join(tmpdir(), "vmsh-hostile-tsa-"));
  try {
    writeFileSync(join(dir, "ext.cnf"), EXT);
    writeFileSync(join(dir, "tsaserial"), "01\n");
    run(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "loop.key"]);
    run(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "tsa.key"]);
    for (let i = 0; i < maxCas; i++) {
      run(dir, ["req", "-x509", "-new", "-key", "loop.key", "-subj", "/O=loop/CN=loop CA", "-set_serial", String(100 + i), "-days", "3650", "-sha256", "-config", "ext.cnf", "-extensions", "ext_ca", "-out", `ca-${i}.pem`]);
    }
    run(dir, ["req", "-new", "-key", "tsa.key", "-subj", "/O=loop/CN=loop TSA", "-out", "tsa.csr"]);
    run(dir, ["x509", "-req", "-in", "tsa.csr", "-CA", "ca-0.pem", "-CAkey", "loop.key", "-set_serial", "7", "-days", "3650", "-sha256", "-extfile", "ext.cnf", "-extensions", "ext_tsa", "-out", "tsa.pem"]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let counter = 0;
  return {
    loopCaPem: readFileSync(join(dir, "ca-0.pem"), "utf8"),
    mint(data, cas) {
      if (cas > maxCas) throw new RangeError(`cas: at most ${maxCas} were made`);
      const n = ++counter;
      writeFileSync(join(dir, `data-${n}`), data);
      writeFileSync(join(dir, `chain-${n}.pem`), Array.from({ length: cas }, (_, i) => readFileSync(join(dir, `ca-${i}.pem`), "utf8")).join(""));
      run(dir, ["ts", "-query", "-data", `data-${n}`, "-sha256", "-cert", "-out", `q-${n}.tsq`]);
      run(dir, ["ts", "-reply", "-config", "ext.cnf", "-queryfile", `q-${n}.tsq`, "-signer", "tsa.pem", "-inkey", "tsa.key", "-chain", `chain-${n}.pem`, "-out", `r-${n}.der`]);
      return Uint8Array.from(readFileSync(join(dir, `r-${n}.der`)));
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
