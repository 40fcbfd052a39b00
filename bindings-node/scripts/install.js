'use strict';
// npm install hook: use the prebuilt binary the package carries (npm pack puts it in); when
// there is none for this platform, build it from the Rust sources next to this package with
// cargo. `--force` rebuilds anyway, `--debug` builds unoptimized (development).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkg = path.resolve(__dirname, '..');
const abi = process.platform === 'linux'
  ? (process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl') : '';
const name = `kpipe.${process.platform}-${process.arch}${abi ? '-' + abi : ''}.node`;
const dest = path.join(pkg, name);
const force = process.argv.includes('--force');
const debug = process.argv.includes('--debug');

if (fs.existsSync(dest) && !force) process.exit(0);

if (!fs.existsSync(path.join(pkg, 'Cargo.toml'))) {
  console.error(`kpipe: no prebuilt ${name} in this package and no Rust sources to build it from`);
  process.exit(1);
}
const args = ['build', '-p', 'kpipe-node', ...(debug ? [] : ['--release'])];
console.error(`kpipe: building the native addon: cargo ${args.join(' ')}`);
const r = spawnSync('cargo', args, { cwd: pkg, stdio: 'inherit' });
if (r.error || r.status !== 0) {
  console.error('kpipe: cargo build failed (is Rust installed? https://rustup.rs)');
  process.exit(1);
}
// cargo's target folder: CARGO_TARGET_DIR, else the workspace's
const meta = spawnSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: pkg, encoding: 'utf8', maxBuffer: 64 << 20 });
const target = meta.status === 0 ? JSON.parse(meta.stdout).target_directory : path.join(pkg, '..', 'target');
const lib = { linux: 'libkpipe_node.so', darwin: 'libkpipe_node.dylib', win32: 'kpipe_node.dll' }[process.platform];
fs.copyFileSync(path.join(target, debug ? 'debug' : 'release', lib), dest);
// the workspace's release profile keeps line tables for profiling; a package need not carry them
if (!debug && process.platform === 'linux') spawnSync('strip', ['--strip-debug', dest], { stdio: 'inherit' });
console.error(`kpipe: built ${name}`);
