// Compile every contract in one folder (default contracts/) offline with solc-js and write
// outDir/combined.json. Usage: node compile.js [outDir] [srcDir]
// (the real chains' stand-ins are compiled from contracts/realchain/ into a folder of their own,
// so the L2 devnet's build does not change with them).
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const outDir = process.argv[2] || path.join(__dirname, "build");
const srcDir = process.argv[3] || path.join(__dirname, "contracts");
const sources = {};
for (const f of fs.readdirSync(srcDir).sort()) {
  if (f.endsWith(".sol")) sources[f] = { content: fs.readFileSync(path.join(srcDir, f), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    viaIR: true,
    evmVersion: "cancun",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) process.stderr.write(e.formattedMessage + "\n");
if (errors.length) process.exit(1);
const contracts = {};
for (const file of Object.keys(output.contracts)) {
  for (const [name, c] of Object.entries(output.contracts[file])) {
    contracts[name] = { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
  }
}
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(
  path.join(outDir, "combined.json"),
  JSON.stringify({ compiler: solc.version(), contracts }, null, 1)
);
process.stdout.write(`compiled ${Object.keys(contracts).length} contracts with solc ${solc.version()}\n`);
