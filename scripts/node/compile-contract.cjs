// Compiles the ledger contract with solc-js (standard JSON, through its JS API, so
// nothing but the compiler's answer reaches the artifact) and writes the ABI and
// bytecode artifact that the `sol!` macro in the ledger crate reads.
//
// Usage: node scripts/node/compile-contract.cjs            (writes the artifact)
//        node scripts/node/compile-contract.cjs --check    (fails if it is stale)
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const dir = path.join(__dirname, '..', '..', 'src-tauri', 'crates', 'ledger', 'contracts');
const name = 'MedwalletLedger';
// The EVM version must match the ledger node's hardfork (scripts start anvil with london).
const EVM_VERSION = 'london';

const input = {
  language: 'Solidity',
  sources: { [`${name}.sol`]: { content: fs.readFileSync(path.join(dir, `${name}.sol`), 'utf8') } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: EVM_VERSION,
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

const contract = output.contracts[`${name}.sol`][name];
const artifact = {
  contractName: name,
  compiler: `solc-js ${solc.version()}`,
  evmVersion: EVM_VERSION,
  abi: contract.abi,
  bytecode: `0x${contract.evm.bytecode.object}`,
};
const text = JSON.stringify(artifact, null, 2) + '\n';
const out = path.join(dir, `${name}.json`);
if (process.argv.includes('--check')) {
  const current = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  if (current !== text) {
    console.error(`${out} is stale: run node scripts/node/compile-contract.cjs`);
    process.exit(1);
  }
  console.log(`${name}.json is up to date`);
} else {
  fs.writeFileSync(out, text);
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}
