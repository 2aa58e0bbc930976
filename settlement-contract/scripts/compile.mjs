// Compiles contracts/NetsSettlement.sol with the pinned solc (package-lock.json) through its
// standard JSON interface and writes artifacts/NetsSettlement.json: the ABI, the creation and
// runtime bytecode, the compiler version and the exact settings used.
//
//   node scripts/compile.mjs          # (re)write the artifact
//   node scripts/compile.mjs --check  # compile and fail if the committed artifact differs
//
// Everything that shapes the bytecode is pinned here or in the lock file: the compiler
// version, the EVM version (solc's default moves with each release) and the optimizer.
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const EXPECTED_COMPILER = "0.8.37";
const CONTRACT = "NetsSettlement";
const SOURCE = `contracts/${CONTRACT}.sol`;

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const artifactPath = join(root, "artifacts", `${CONTRACT}.json`);
const check = process.argv.includes("--check");

const version = solc.version();
if (!version.startsWith(`${EXPECTED_COMPILER}+`)) {
  console.error(`compile: solc ${version} is installed, ${EXPECTED_COMPILER} is pinned; run scripts/setup-contract`);
  process.exit(1);
}

const settings = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 10000 },
  metadata: { bytecodeHash: "ipfs" },
  outputSelection: {
    [SOURCE]: { [CONTRACT]: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
  },
};
const input = {
  language: "Solidity",
  sources: { [SOURCE]: { content: readFileSync(join(root, SOURCE), "utf8") } },
  settings,
};

const output = JSON.parse(solc.compile(JSON.stringify(input)));
const problems = (output.errors ?? []).filter((e) => e.severity !== "info");
for (const problem of problems) {
  console.error(problem.formattedMessage ?? problem.message);
}
if (problems.some((e) => e.severity === "error")) {
  process.exit(1);
}
if (problems.length > 0) {
  console.error("compile: warnings are treated as errors");
  process.exit(1);
}

const contract = output.contracts[SOURCE][CONTRACT];
const artifact = {
  contractName: CONTRACT,
  sourceName: SOURCE,
  abi: contract.abi,
  bytecode: `0x${contract.evm.bytecode.object}`,
  deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
  compiler: { version, settings: { evmVersion: settings.evmVersion, optimizer: settings.optimizer, metadata: settings.metadata } },
};
const text = `${JSON.stringify(artifact, null, 2)}\n`;

if (check) {
  let committed = "";
  try {
    committed = readFileSync(artifactPath, "utf8");
  } catch {
    console.error(`compile --check: ${artifactPath} is missing; run node scripts/compile.mjs`);
    process.exit(1);
  }
  if (committed !== text) {
    console.error(
      `compile --check: ${artifactPath} differs from a fresh compile of ${SOURCE}; ` +
        "run `node settlement-contract/scripts/compile.mjs` and commit the artifact",
    );
    process.exit(1);
  }
  console.log(`compile --check: ${CONTRACT} artifact matches its source (solc ${version})`);
} else {
  const tmp = `${artifactPath}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, artifactPath);
  console.log(`compile: wrote ${artifactPath} (solc ${version}, ${contract.evm.deployedBytecode.object.length / 2} bytes runtime)`);
}
