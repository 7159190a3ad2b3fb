/**
 * Compiles test/fixtures/evm/BatchAnchor.sol with solcjs (the `solc` npm package)
 * into the fixture test/fixtures/evm/BatchAnchor.json. Run directly with `--write`
 * to regenerate the fixture; the fixture test calls `compileBatchAnchor` and compares.
 *
 *   node --import tsx test/anchors/evm/solc-build.ts --write
 */
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import solc from "solc";
import { fixturePath } from "../../support/repo-root.js";

export const SOURCE_NAME = "BatchAnchor.sol";
export const CONTRACT_NAME = "BatchAnchor";

/** Compiler settings recorded in the fixture; changing one changes the bytecode. */
export const SOLC_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  // Cancun: supported by anvil and by every chain docs/ANCHORS.md §EVM anchors names (1, 8453, 42161).
  evmVersion: "cancun",
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
} as const;

/** What BatchAnchor.json holds. */
export interface BatchAnchorArtifact {
  contractName: string;
  sourceName: string;
  compiler: { package: string; version: string; settings: typeof SOLC_SETTINGS };
  abi: unknown[];
  bytecode: `0x${string}`;
  deployedBytecode: `0x${string}`;
}

interface SolcOutput {
  errors?: Array<{ severity: string; formattedMessage: string }>;
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
}

/**
 * Compiles the fixture's Solidity source with the installed solcjs.
 * @example compileBatchAnchor().bytecode.startsWith("0x60") // true
 */
export function compileBatchAnchor(): BatchAnchorArtifact {
  const content = readFileSync(fixturePath("evm", SOURCE_NAME), "utf8");
  const input = { language: "Solidity", sources: { [SOURCE_NAME]: { content } }, settings: SOLC_SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  const compiled = output.contracts?.[SOURCE_NAME]?.[CONTRACT_NAME];
  if (!compiled) throw new Error(`solc produced no ${CONTRACT_NAME} in ${SOURCE_NAME}`);
  return {
    contractName: CONTRACT_NAME,
    sourceName: SOURCE_NAME,
    compiler: { package: "solc (solcjs)", version: solc.version() as string, settings: SOLC_SETTINGS },
    abi: compiled.abi,
    bytecode: `0x${compiled.evm.bytecode.object}`,
    deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
  };
}

/**
 * Reads the committed fixture.
 * @example const { abi, bytecode } = readBatchAnchorArtifact();
 */
export function readBatchAnchorArtifact(): BatchAnchorArtifact {
  return JSON.parse(readFileSync(fixturePath("evm", "BatchAnchor.json"), "utf8")) as BatchAnchorArtifact;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv.includes("--write")) {
  writeFileSync(fixturePath("evm", "BatchAnchor.json"), JSON.stringify(compileBatchAnchor(), null, 2) + "\n");
}
