'use strict';
// Writes dist/bundle/tctl.cjs.cache (see bin/tctl) after running a few commands in a
// throwaway data dir, so the cache holds the code of start-up and of the common commands.
// scripts/bundle.mjs runs it with stdout discarded (the commands print as they would for a user).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { load, CACHE } = require('../bin/tctl');

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tctl-code-cache-'));
  const dataDir = ['--data-dir', path.join(dir, 'ca')];
  // In another process: what only auth init runs is not worth its load time on every start.
  const init = spawnSync(process.execPath, [path.join(__dirname, '..', 'bin', 'tctl'), 'auth', 'init', '--cluster-name=example.com', ...dataDir], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`tctl auth init failed: ${init.stderr}`);
  const { cli, script } = load();
  try {
    for (const args of [
      ['--version'],
      ['auth', 'export', '--type=user', ...dataDir],
      ['auth', 'export', '--type=host', ...dataDir],
      ['auth', 'sign', '--user=joe', `--out=${path.join(dir, 'joe')}`, ...dataDir],
      ['auth', 'sign', '--host=a.example.com', `--out=${path.join(dir, 'a')}`, ...dataDir],
      ['auth', 'export', '--type=krl', `--out=${path.join(dir, 'krl')}`, ...dataDir],
      ['status', ...dataDir],
    ]) {
      const code = await cli.main(args);
      if (code !== 0) throw new Error(`tctl ${args.join(' ')} exited ${code}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.writeFileSync(CACHE, script.createCachedData());
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
