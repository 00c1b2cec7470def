#!/usr/bin/env node
// The `solc` py-solc-x (and so ape-solidity) runs: the official compiler built to wasm (npm `solc`), behind the
// native command line that py-solc-x speaks: `--version`, `--standard-json` (stdin), and `--combined-json` for
// source given on stdin or as files (what `compile_source` uses). No native solc is reachable here.
'use strict';

const fs = require('fs');
const path = require('path');

// ~/.solcx/solc-v0.8.28 is a symlink to this file: resolve it so `solc` is found in the repo's node_modules.
const repoRoot = path.resolve(path.dirname(fs.realpathSync(__filename)), '..');
const NATIVE_VERSION = '0.8.28+commit.7893614a.Linux.g++';

function loadCompiler() {
  return require(require.resolve('solc', { paths: [repoRoot] }));
}

// Flags py-solc-x may pass; those with a value consume the next argument.
const FLAGS_WITH_VALUE = new Set([
  '--base-path', '--allow-paths', '--include-path', '--output-dir', '--evm-version', '--optimize-runs',
  '--combined-json', '--remappings',
]);

function parseArgs(argv) {
  const opts = {
    basePath: null, allowPaths: [], includePaths: [], standardJson: false, version: false, help: false,
    combinedJson: null, optimize: false, optimizeRuns: 200, evmVersion: null, remappings: [], files: [],
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else if (FLAGS_WITH_VALUE.has(arg)) {
      value = argv[++i];
    }
    switch (arg) {
      case '--version': opts.version = true; break;
      case '--help': opts.help = true; break;
      case '--standard-json': opts.standardJson = true; break;
      case '--base-path': opts.basePath = value; break;
      case '--remappings': opts.remappings.push(...String(value).split(',')); break;
      case '--allow-paths': opts.allowPaths.push(...String(value).split(',').filter(Boolean)); break;
      case '--include-path': opts.includePaths.push(value); break;
      case '--combined-json': opts.combinedJson = String(value).split(',').filter(Boolean); break;
      case '--optimize': opts.optimize = true; break;
      case '--optimize-runs': opts.optimizeRuns = Number(value); break;
      case '--evm-version': opts.evmVersion = value; break;
      default:
        if (!arg.startsWith('-')) {
          // positional: a remapping (prefix=target) or a source file
          if (arg.includes('=')) opts.remappings.push(argv[i]); else opts.files.push(arg);
        }
        break; // '-' (stdin), --pretty-json...: ignored
    }
  }
  return opts;
}

function makeImportCallback(opts) {
  const roots = [opts.basePath, ...opts.includePaths, ...opts.allowPaths, process.cwd()].filter(Boolean);
  return function findImport(importPath) {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((root) => path.resolve(root, importPath));
    for (const candidate of candidates) {
      try {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      } catch (_err) {
        // try the next root
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
  };
}

function readStdin() {
  return fs.readFileSync(0, 'utf8');
}

// --combined-json output names, as native solc spells them, and where each lives in standard JSON output.
const COMBINED_OUTPUTS = {
  abi: { select: 'abi', get: (c) => c.abi },
  bin: { select: 'evm.bytecode.object', get: (c) => c.evm.bytecode.object },
  'bin-runtime': { select: 'evm.deployedBytecode.object', get: (c) => c.evm.deployedBytecode.object },
  srcmap: { select: 'evm.bytecode.sourceMap', get: (c) => c.evm.bytecode.sourceMap },
  'srcmap-runtime': { select: 'evm.deployedBytecode.sourceMap', get: (c) => c.evm.deployedBytecode.sourceMap },
  opcodes: { select: 'evm.bytecode.opcodes', get: (c) => c.evm.bytecode.opcodes },
  hashes: { select: 'evm.methodIdentifiers', get: (c) => c.evm.methodIdentifiers },
  metadata: { select: 'metadata', get: (c) => c.metadata },
  userdoc: { select: 'userdoc', get: (c) => c.userdoc },
  devdoc: { select: 'devdoc', get: (c) => c.devdoc },
  asm: { select: 'evm.legacyAssembly', get: (c) => c.evm.legacyAssembly },
};

function compileCombined(opts) {
  const sources = {};
  if (opts.files.length === 0) {
    sources['<stdin>'] = { content: readStdin() };
  }
  for (const file of opts.files) {
    sources[file] = { content: fs.readFileSync(path.resolve(opts.basePath || process.cwd(), file), 'utf8') };
  }
  const wanted = opts.combinedJson.filter((name) => name === 'ast' || COMBINED_OUTPUTS[name]);
  const settings = {
    optimizer: { enabled: opts.optimize, runs: opts.optimizeRuns },
    remappings: opts.remappings,
    outputSelection: {
      '*': {
        '*': wanted.filter((n) => n !== 'ast').map((n) => COMBINED_OUTPUTS[n].select),
        '': wanted.includes('ast') ? ['ast'] : [],
      },
    },
  };
  if (opts.evmVersion) settings.evmVersion = opts.evmVersion;
  const input = JSON.stringify({ language: 'Solidity', sources, settings });
  const output = JSON.parse(loadCompiler().compile(input, { import: makeImportCallback(opts) }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) process.stderr.write(e.formattedMessage || e.message);
  if (errors.length > 0) return 1;
  const contracts = {};
  for (const [file, byName] of Object.entries(output.contracts || {})) {
    for (const [name, compiled] of Object.entries(byName)) {
      const entry = {};
      for (const key of wanted) {
        if (key !== 'ast') entry[key] = COMBINED_OUTPUTS[key].get(compiled);
      }
      contracts[`${file}:${name}`] = entry;
    }
  }
  const result = { contracts, version: NATIVE_VERSION };
  if (wanted.includes('ast')) {
    result.sources = {};
    for (const [file, src] of Object.entries(output.sources || {})) result.sources[file] = { AST: src.ast };
  }
  process.stdout.write(JSON.stringify(result));
  return 0;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${NATIVE_VERSION}\n`);
    return 0;
  }
  if (opts.help) {
    process.stdout.write(
      'solc (wasm wrapper) ' + NATIVE_VERSION + '\nUsage: solc --standard-json [--base-path P] [--allow-paths A,B]\n' +
      '       solc --combined-json OUTPUTS [--optimize] [-|FILE...]\n' +
      '  --combined-json abi,asm,ast,bin,bin-runtime,devdoc,hashes,metadata,opcodes,srcmap,srcmap-runtime,userdoc\n',
    );
    return 0;
  }
  if (opts.combinedJson) {
    return compileCombined(opts);
  }
  if (!opts.standardJson) {
    process.stderr.write('this solc wrapper supports --version, --standard-json and --combined-json\n');
    return 1;
  }
  const input = readStdin();
  const output = loadCompiler().compile(input, { import: makeImportCallback(opts) });
  process.stdout.write(output);
  return 0;
}

process.exitCode = main();
