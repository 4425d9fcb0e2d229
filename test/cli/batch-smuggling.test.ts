// Lines that say one thing to a reviewer and another to the signer: duplicate keys (however
// escaped) and commas inside array elements. Each is refused with file:line; nothing is signed.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';

function key(cwd: string): string {
  const f = path.join(cwd, 'k');
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]).status, 0);
  return fs.readFileSync(`${f}.pub`, 'utf8').trim();
}

/** A JSON string with each character written literally or as \uXXXX (either case), by seed. */
function escaped(s: string, seed: number): string {
  const chars = [...s].map((c, i) => {
    const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
    const mode = (seed >> (i % 16)) & 3;
    return mode === 0 ? `\\u${hex}` : mode === 1 ? `\\u${hex.toUpperCase()}` : c;
  });
  return `"${chars.join('')}"`;
}

interface Smuggle {
  text: string;
  error: RegExp;
}

function smuggles(pub: string, count: number): Smuggle[] {
  const out: Smuggle[] = [];
  const user: Array<[string, string]> = [
    ['user', '"deploy"'],
    ['principals', '["deploy"]'],
    ['public_key', JSON.stringify(pub)],
    ['ttl', '"1h"'],
  ];
  const host: Array<[string, string]> = [
    ['host', '["web1.example.com"]'],
    ['public_key', JSON.stringify(pub)],
  ];
  for (let i = 0; out.length < count; i++) {
    const kind = i % 4;
    if (kind < 2) {
      // A second copy of a field, in any position, with its name escaped some other way.
      const fields = (kind === 0 ? user : host).slice();
      const [name] = fields[(i >> 2) % fields.length]!;
      const second = name === 'principals' ? '["root"]' : name === 'host' ? '["db.example.com"]' : name === 'ttl' ? '"87600h"' : name === 'user' ? '"root"' : JSON.stringify(pub);
      fields.splice((i >> 3) % (fields.length + 1), 0, [name, second]);
      const text = `{${fields.map(([k, v], j) => `${escaped(k, i * 7 + j)}:${v}`).join(', ')}}`;
      out.push({ text, error: new RegExp(`duplicate key "${name}": each key may appear once in an object`) });
    } else if (kind === 2) {
      const element = ['deploy,root', 'root,', ',root', 'deploy, root', 'a,b,c'][(i >> 2) % 5]!;
      out.push({ text: JSON.stringify({ user: 'deploy', principals: ['deploy', element], public_key: pub }), error: /invalid "principals" entry ".*": must not contain ","/ });
    } else {
      const element = ['web1.example.com,db.example.com', 'db.example.com,', '10.0.0.1,10.0.0.2'][(i >> 2) % 3]!;
      out.push({ text: JSON.stringify({ host: [element], public_key: pub }), error: /invalid "host" entry ".*": must not contain ","/ });
    }
  }
  return out;
}

const issuedCount = (dataDir: string) => (fs.existsSync(path.join(dataDir, 'issued.jsonl')) ? fs.readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8').trim().split('\n').length : 0);

test('batch: 60 generated smuggling lines are each refused by file:line; nothing is signed or created', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const pub = key(cwd);
  const all = smuggles(pub, 60);
  // 20 lines a file: every line of each file is reported (more are summarised).
  for (let f = 0; f < 3; f++) {
    const batch = all.slice(f * 20, f * 20 + 20);
    const good = JSON.stringify({ user: 'ann', public_key: pub });
    fs.writeFileSync(path.join(cwd, `b${f}.jsonl`), [good, ...batch.map((s) => s.text)].join('\n') + '\n');
    const r = run(['auth', 'sign', `--batch=b${f}.jsonl`, '--out-dir=out']);
    assert.equal(r.status, 1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('tctl: error: '));
    assert.equal(errors.length, 21, r.stderr);
    batch.forEach((s, j) => {
      const reported = errors.find((l) => l.startsWith(`tctl: error: b${f}.jsonl:${j + 2}: `));
      assert.ok(reported, `line ${j + 2} reported: ${s.text}`);
      assert.match(reported, s.error, s.text);
    });
    assert.equal(errors.at(-1), 'tctl: error: 20 bad lines in the batch; nothing was signed');
  }
  assert.ok(!fs.existsSync(path.join(cwd, 'out')));
  assert.equal(issuedCount(dataDir), 0);
  assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8').trim(), '0');
});

test('batch: array elements become exactly those principals; strings split on commas like the flags', () => {
  const { run, cwd } = initialisedCa();
  const pub = key(cwd);
  fs.writeFileSync(
    path.join(cwd, 'req.jsonl'),
    [
      { user: 'joe', principals: ['joe', 'deploy'], public_key: pub, out: 'array' },
      { user: 'joe', principals: 'joe, deploy', public_key: pub, out: 'string' },
      { host: ['web1.example.com', '10.0.0.7'], public_key: pub, out: 'hosts' },
      { host: 'web1.example.com,10.0.0.7', public_key: pub, out: 'hosts-string' },
      { user: 'joe', public_key: pub, source_address: ['10.0.0.0/8', '192.168.1.7'], out: 'src' },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n'),
  );
  const r = run(['auth', 'sign', '--batch=req.jsonl', '--out-dir=out']);
  assert.equal(r.status, 0, r.stderr);
  const principals = (name: string) => {
    const text = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'out', `${name}-cert.pub`)]).stdout;
    return /Principals: \n((?:\s{16}\S.*\n)+)/.exec(text)![1]!.trim().split(/\s+/);
  };
  assert.deepEqual(principals('array'), ['joe', 'deploy']);
  assert.deepEqual(principals('string'), ['joe', 'deploy']);
  assert.deepEqual(principals('hosts'), ['web1.example.com', '10.0.0.7']);
  assert.deepEqual(principals('hosts-string'), ['web1.example.com', '10.0.0.7']);
  assert.match(openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'out', 'src-cert.pub')]).stdout, /source-address 10\.0\.0\.0\/8,192\.168\.1\.7\n/);
});
