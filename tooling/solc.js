#!/usr/bin/env node
// The `solc` py-solc-x (and so ape-solidity) runs: the official compiler built to wasm (npm `solc`), behind the
// native command line that py-solc-x speaks (`--version`, `--standard-json` on stdin). No native solc is reachable.
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
  const opts = { basePath: null, allowPaths: [], includePaths: [], standardJson: false, version: false, help: false };
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
      case '--allow-paths': opts.allowPaths.push(...String(value).split(',').filter(Boolean)); break;
      case '--include-path': opts.includePaths.push(value); break;
      default: break; // '-' (stdin), --pretty-json, --optimize...: standard JSON input carries the settings
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

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${NATIVE_VERSION}\n`);
    return 0;
  }
  if (opts.help) {
    process.stdout.write(
      'solc (wasm wrapper) ' + NATIVE_VERSION + '\nUsage: solc --standard-json [--base-path P] [--allow-paths A,B]\n' +
      '  --combined-json abi,bin,bin-runtime,metadata\n',
    );
    return 0;
  }
  if (!opts.standardJson) {
    process.stderr.write('this solc wrapper supports only --version and --standard-json (input on stdin)\n');
    return 1;
  }
  const input = readStdin();
  const output = loadCompiler().compile(input, { import: makeImportCallback(opts) });
  process.stdout.write(output);
  return 0;
}

process.exitCode = main();
