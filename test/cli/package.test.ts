// What `npm pack` ships is what an installed tctl has: the packed files alone (with the
// dependencies npm installs beside them) must run tctl, and nothing of the sources, tests or
// build scripts is shipped. Packed with --ignore-scripts: the build under test is this one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, openssh, tempDir } from '../helpers/run.js';

function npm(args: string[], cwd: string): string {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });
  assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('the packed package holds the built tctl and runs on its own files', () => {
  const dir = tempDir();
  const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], REPO_ROOT)) as Array<{ filename: string; files: Array<{ path: string; mode: number }> }>;
  const files = packed!.files.map((f) => f.path).sort();
  for (const wanted of ['bin/tctl', 'dist/bundle/tctl.cjs', 'dist/bundle/tctl.cjs.cache', 'dist/bundle/ca-batch-threads.cjs', 'dist/bundle/store-writer-thread.cjs', 'dist/bundle/store-postgres-bridge.cjs', 'package.json', 'README.md']) {
    assert.ok(files.includes(wanted), `${wanted} is packed`);
  }
  assert.deepEqual(files.filter((f) => /^(src|test|bench|scripts|\.ci)\//.test(f) || f.startsWith('dist/src/') || f.startsWith('dist/test/')), [], 'no sources, tests or build scripts');
  assert.ok((packed!.files.find((f) => f.path === 'bin/tctl')!.mode & 0o111) !== 0, 'bin/tctl is executable');

  // Unpacked, with the dependencies beside it as npm would install them.
  const unpacked = path.join(dir, 'unpacked');
  fs.mkdirSync(unpacked);
  const tar = spawnSync('tar', ['-xzf', path.join(dir, packed!.filename), '-C', unpacked], { encoding: 'utf8' });
  assert.equal(tar.status, 0, tar.stderr);
  const pkg = path.join(unpacked, 'package');
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
  const cwd = tempDir();
  const run = (args: string[]) => spawnSync(path.join(pkg, 'bin', 'tctl'), args, { cwd, encoding: 'utf8', input: '', env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1', TCTL_DATA_DIR: path.join(cwd, 'ca') } });
  const version = run(['--version']);
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout, `tctl v${(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
  assert.equal(run(['auth', 'init', '--cluster-name=example.com']).status, 0);
  const sign = run(['auth', 'sign', '--user=joe', '--out=joe']);
  assert.equal(sign.status, 0, sign.stderr);
  const shown = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'joe-cert.pub')]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /Type: ssh-ed25519-cert-v01@openssh.com user certificate/);
  assert.match(shown.stdout, /Principals: \n\s+joe\n/);
});
