// audit verify checks the bytes on disk: edits that a JSON parser cannot see (escapes, spacing,
// duplicate keys, number spelling) and ones it can must all break the chain at their own line.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { verifyChain } from '../../src/store/audit.js';
import { DirCaStore } from '../../src/store/local/dir-ca-store.js';
import { initialisedCa } from '../helpers/run.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Kind = 'escape' | 'space' | 'duplicate' | 'number' | 'reorder';

/** A small PRNG so a failure names a seed that reproduces it. */
function prng(seed: number) {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
  };
}

/**
 * Writes value as JSON.stringify does, except at site `at` of the given kind, where it writes an
 * equivalent spelling. Returns the text and how many sites of that kind there are.
 */
function respell(value: Json, kind: Kind, at: number, variant: number): { text: string; sites: number } {
  let site = 0;
  const here = (k: Kind) => k === kind && site++ === at;
  const str = (s: string): string => {
    let out = '';
    for (let i = 0; i < s.length; i++) {
      if (kind === 'escape' && here('escape')) {
        const hex = s.charCodeAt(i).toString(16).padStart(4, '0');
        out += s[i] === '/' && variant % 2 ? '\\/' : '\\u' + (variant % 2 ? hex.toUpperCase() : hex);
      } else {
        out += JSON.stringify(s[i]).slice(1, -1);
      }
    }
    return `"${out}"`;
  };
  const ws = () => (kind === 'space' && here('space') ? [' ', '\t', '  ', '\r'][variant % 4] : '');
  const write = (v: Json): string => {
    if (typeof v === 'string') return str(v);
    if (typeof v === 'number') return kind === 'number' && here('number') ? [`${v}.0`, `${v}e0`, `${v}0e-1`][variant % 3]! : JSON.stringify(v);
    if (v === null || typeof v === 'boolean') return JSON.stringify(v);
    if (Array.isArray(v)) return '[' + ws() + v.map((x) => write(x) + ws()).join(',' + ws()) + ']';
    let keys = Object.keys(v);
    if (keys.length >= 2 && kind === 'reorder' && here('reorder')) {
      const i = variant % (keys.length - 1);
      keys = [...keys.slice(0, i), keys[i + 1]!, keys[i]!, ...keys.slice(i + 2)];
    }
    const members = keys.map((k) => {
      // JSON.parse keeps a key where it first appears and the value it last had.
      const dup = kind === 'duplicate' && here('duplicate') ? `${str(k)}:${['"x"', '0', 'null', '{}'][variant % 4]},` : '';
      return `${dup}${ws()}${str(k)}${ws()}:${ws()}${write(v[k]!)}${ws()}`;
    });
    return '{' + members.join(',') + '}';
  };
  const text = write(value);
  return { text, sites: site };
}

/** The same line spelled differently at a random site; the parse is unchanged except for reorder. */
function mutate(line: string, kind: Kind, rnd: (n: number) => number): string {
  const value = JSON.parse(line) as Json;
  const sites = respell(value, kind, -1, 0).sites;
  return respell(value, kind, rnd(Math.max(sites, 1)), rnd(12)).text;
}

const audit = (dataDir: string) => path.join(dataDir, 'audit.jsonl');
const readLines = (dataDir: string) => fs.readFileSync(audit(dataDir), 'utf8').replace(/\n$/, '').split('\n');

/** A log with entries of every kind: init, sign, a refused command, rotate, revoke. */
function realLog() {
  const ca = initialisedCa();
  for (const args of [
    ['auth', 'sign', '--user=alice', '--out=alice'],
    ['auth', 'sign', '--host=web1.example.com', '--out=web1'],
    ['auth', 'rotate', '--type=host', '--manual', '--phase=init'],
    ['auth', 'rotate', '--type=host', '--manual', '--phase=standby'],
    ['auth', 'revoke', '--key-id=alice', '--reason=lost laptop ✓ / ünïcode'],
  ]) ca.run(args);
  return ca;
}

/** Asserts every mutation of every line is caught at that line, and that the parse-only ones parse alike. */
function assertMutationsCaught(dataDir: string, seed: number, perKind: number): number {
  const original = readLines(dataDir);
  const rnd = prng(seed);
  let checked = 0;
  for (let i = 0; i < original.length; i++) {
    for (const kind of ['escape', 'space', 'duplicate', 'number', 'reorder', 'byte'] as const) {
      for (let k = 0; k < perKind; k++) {
        let line: string;
        if (kind === 'byte') {
          const at = rnd(original[i]!.length);
          const c = String.fromCharCode(0x20 + rnd(95));
          line = original[i]!.slice(0, at) + c + original[i]!.slice(at + 1);
          if (line === original[i]) continue;
        } else {
          line = mutate(original[i]!, kind, rnd);
        }
        const what = `seed ${seed}, line ${i + 1}, ${kind}: ${JSON.stringify(line)}`;
        assert.notEqual(line, original[i], what);
        if (kind !== 'reorder' && kind !== 'byte') {
          // What a verifier that re-parses the JSON sees: nothing changed.
          assert.equal(JSON.stringify(JSON.parse(line)), JSON.stringify(JSON.parse(original[i]!)), what);
        }
        fs.writeFileSync(audit(dataDir), [...original.slice(0, i), line, ...original.slice(i + 1)].join('\n') + '\n');
        const v = verifyChain(new DirCaStore(dataDir).auditLines());
        assert.equal(v.ok, false, what);
        assert.equal(v.brokenLine, i + 1, `${what}: ${v.reason}`);
        checked++;
      }
    }
  }
  fs.writeFileSync(audit(dataDir), original.join('\n') + '\n');
  assert.equal(verifyChain(new DirCaStore(dataDir).auditLines()).ok, true, 'the restored log verifies');
  return checked;
}

test('the respelling helper writes exactly what JSON.stringify writes when it changes nothing', () => {
  const { dataDir } = realLog();
  for (const line of readLines(dataDir)) assert.equal(respell(JSON.parse(line) as Json, 'escape', -1, 0).text, line);
});

test('audit verify: any edit to a line\'s bytes is caught at that line (escapes, spacing, duplicate keys, numbers, order)', () => {
  const { dataDir, run } = realLog();
  const lines = readLines(dataDir);
  assert.equal(lines.length, 6);
  assert.ok(lines.every((l) => l.startsWith('{"v":2,') && /,"hash":"[0-9a-f]{64}"\}$/.test(l)), 'new lines are format 2');
  for (const l of lines) {
    const body = Buffer.from(l).subarray(0, -75);
    assert.equal(createHash('sha256').update(body).digest('hex'), l.slice(-66, -2), 'hash = SHA-256 of the bytes before the hash member');
  }
  const checked = assertMutationsCaught(dataDir, 20240917, 8);
  assert.ok(checked >= 6 * 6 * 7, `${checked} mutations checked`);

  // What a user sees, for the example in the issue.
  const original = fs.readFileSync(audit(dataDir), 'utf8');
  fs.writeFileSync(audit(dataDir), original.replace('"keyId":"alice"', '"keyId":"\\u0061lice"'));
  const r = run(['audit', 'verify']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'tctl: error: audit.jsonl line 2 breaks the chain: its content does not match its hash (the line was edited)\ntctl: hint: lines before 2 are intact; compare the log with a backup\n');
});

/** The format-1 writer, as it was: hash = SHA-256 of JSON.stringify of the entry without its hash. */
function oldFormatLog(n: number): string[] {
  const lines: string[] = [];
  let prev = '0'.repeat(64);
  for (let seq = 1; seq <= n; seq++) {
    const entry = {
      seq,
      time: new Date(Date.UTC(2025, 0, seq)).toISOString(),
      who: { user: 'root', host: 'ca-host' },
      command: seq === 1 ? 'auth init' : 'auth sign',
      what: seq === 1 ? { clusterName: 'example.com' } : { certificates: [{ serial: String(seq - 1), keyId: `user${seq} ✓/`, type: 'user' }] },
      result: 'ok',
      prev,
    };
    prev = createHash('sha256').update(JSON.stringify(entry)).digest('hex');
    lines.push(JSON.stringify({ ...entry, hash: prev }));
  }
  return lines;
}

test('a log written before format 2 still verifies, continues with format-2 lines, and its old lines are checked byte for byte', () => {
  const { dataDir, run } = initialisedCa();
  const old = oldFormatLog(4);
  fs.writeFileSync(audit(dataDir), old.join('\n') + '\n');
  const v1 = run(['audit', 'verify']);
  assert.equal(v1.status, 0, v1.stderr);
  assert.equal(v1.stdout, 'audit.jsonl: 4 entries, hash chain intact\n');

  assert.equal(run(['auth', 'sign', '--user=bob', '--out=bob']).status, 0);
  const lines = readLines(dataDir);
  assert.deepEqual(lines.slice(0, 4), old, 'old lines are left as they are');
  const next = JSON.parse(lines[4]!);
  assert.equal(next.v, 2);
  assert.equal(next.seq, 5);
  assert.equal(next.prev, JSON.parse(old[3]!).hash, 'the first new line chains onto the last old one');
  const v2 = run(['audit', 'verify']);
  assert.equal(v2.status, 0, v2.stderr);
  assert.equal(v2.stdout, 'audit.jsonl: 5 entries, hash chain intact\n');

  assertMutationsCaught(dataDir, 7, 6);
  // Relabelling a new line as old (dropping "v") does not make it verify the old way.
  const relabelled = lines[4]!.replace('{"v":2,', '{');
  fs.writeFileSync(audit(dataDir), [...lines.slice(0, 4), relabelled].join('\n') + '\n');
  assert.equal(verifyChain(new DirCaStore(dataDir).auditLines()).brokenLine, 5);
});
