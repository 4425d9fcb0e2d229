// Duplicate JSON keys and comma smuggling in batch lines, checked on many generated documents:
// the scanner must agree with a model of the document, however its names are escaped.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseBatchLine } from '../../src/ca/batch.js';
import { TctlError } from '../../src/errors.js';
import { findDuplicateKey, parseStrictJson } from '../../src/formats/json.js';
import { openssh, tempDir } from '../helpers/run.js';

/** xorshift32: deterministic, so a failure names a seed that reproduces it. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(a: readonly T[]): T => a[Math.floor(next() * a.length)]! };
}
type Rng = ReturnType<typeof rng>;

type Node = { obj: Array<[string, Node]> } | { arr: Node[] } | { str: string } | { lit: string };

// Names that collide often, and characters that trip naive scanners: quotes, backslashes,
// braces, commas and colons inside strings, astral characters, U+2028, NUL.
const NAMES = ['host', 'user', 'principals', 'a', 'A', 'é', 'e\u0301', '😀', 'a"b', '\\', '{', '}', ',', ':', '[', '', ' ', 'x\u2028', '\u0000', 'ho"st'];
const STRINGS = ['', 'web1,db', '"', '\\', '\\"', '{"host":1}', '","host":"', 'ü', '😀', '\n', '/'];
const SHORT: Record<string, string> = { '"': '\\"', '\\': '\\\\', '/': '\\/', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function hex4(code: number, r: Rng): string {
  const h = code.toString(16).padStart(4, '0');
  return r.next() < 0.5 ? h : h.toUpperCase();
}

/** A JSON string literal for s, each character written literally, as \uXXXX, or as a short escape. */
function encode(s: string, r: Rng): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    const mustEscape = ch === '"' || ch === '\\' || code < 0x20;
    const roll = r.next();
    if (SHORT[ch] !== undefined && (mustEscape || roll < 0.3)) out += SHORT[ch];
    else if (mustEscape || roll < 0.4) {
      if (code > 0xffff) for (const unit of [ch.charCodeAt(0), ch.charCodeAt(1)]) out += `\\u${hex4(unit, r)}`;
      else out += `\\u${hex4(code, r)}`;
    } else out += ch;
  }
  return out + '"';
}

const ws = (r: Rng) => r.pick(['', '', '', ' ', '\t', '  ', '\r\n ']);

function render(n: Node, r: Rng): string {
  if ('str' in n) return encode(n.str, r);
  if ('lit' in n) return n.lit;
  if ('arr' in n) return `[${ws(r)}${n.arr.map((x) => render(x, r)).join(`${ws(r)},${ws(r)}`)}${ws(r)}]`;
  return `{${ws(r)}${n.obj.map(([k, v]) => `${encode(k, r)}${ws(r)}:${ws(r)}${render(v, r)}`).join(`${ws(r)},${ws(r)}`)}${ws(r)}}`;
}

function generate(r: Rng, depth: number): Node {
  const roll = r.next();
  if (depth > 3 || roll < 0.35) return r.next() < 0.6 ? { str: r.pick([...STRINGS, ...NAMES]) } : { lit: r.pick(['true', 'false', 'null', '0', '-1.5e3', '12']) };
  if (roll < 0.55) return { arr: Array.from({ length: r.int(4) }, () => generate(r, depth + 1)) };
  return { obj: Array.from({ length: r.int(5) }, () => [r.pick(NAMES), generate(r, depth + 1)] as [string, Node]) };
}

/** The model's answer: the first repeated name in document order (a name comes before its value). */
function firstDuplicate(n: Node): string | undefined {
  if ('arr' in n) {
    for (const x of n.arr) {
      const d = firstDuplicate(x);
      if (d !== undefined) return d;
    }
  } else if ('obj' in n) {
    const seen = new Set<string>();
    for (const [k, v] of n.obj) {
      if (seen.has(k)) return k;
      seen.add(k);
      const d = firstDuplicate(v);
      if (d !== undefined) return d;
    }
  }
  return undefined;
}

function model(n: Node): unknown {
  if ('str' in n) return n.str;
  if ('lit' in n) return JSON.parse(n.lit);
  if ('arr' in n) return n.arr.map(model);
  return Object.fromEntries(n.obj.map(([k, v]) => [k, model(v)]));
}

test('findDuplicateKey agrees with the model on 30,000 generated documents, whatever the escapes', () => {
  let withDuplicates = 0;
  for (let seed = 1; seed <= 30_000; seed++) {
    const r = rng(seed);
    const doc: Node = { obj: Array.from({ length: 1 + r.int(5) }, () => [r.pick(NAMES), generate(r, 1)] as [string, Node]) };
    const text = render(doc, r);
    const expected = firstDuplicate(doc);
    const parsed = JSON.parse(text) as unknown; // the generator writes valid JSON
    assert.equal(findDuplicateKey(text), expected, `seed ${seed}: ${text}`);
    if (expected === undefined) assert.deepEqual(parsed, model(doc), `seed ${seed}`);
    else withDuplicates++;
  }
  assert.ok(withDuplicates > 5_000 && withDuplicates < 25_000, `both kinds generated (${withDuplicates} with duplicates)`);
});

test('parseStrictJson: invalid JSON and duplicates are usage errors naming the key in printable ASCII', () => {
  assert.throws(() => parseStrictJson('{"a":1,}'), { message: 'not valid JSON' });
  assert.throws(() => parseStrictJson('{"host":"a","\\u0068ost":"b"}'), { message: /^duplicate key "host"/ });
  assert.throws(() => parseStrictJson('{"x":[{"k":1,"\\u006B":2}]}'), { message: /^duplicate key "k"/ });
  assert.throws(() => parseStrictJson('{"\\u202e":1,"\u202e":2}'), { message: /^duplicate key "\\u202e"/ });
  assert.deepEqual(parseStrictJson('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}'), { a: { a: { a: 1 } }, b: [{ a: 1 }, { a: 2 }] });
});

const KEY = (() => {
  const f = path.join(tempDir(), 'k');
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]).status, 0);
  return fs.readFileSync(`${f}.pub`, 'utf8').trim();
})();

function refusal(line: string): string {
  try {
    parseBatchLine(line, 'standard');
  } catch (err) {
    assert.ok(err instanceof TctlError, `${line}: ${String(err)}`);
    return err.message;
  }
  assert.fail(`accepted: ${line}`);
}

test('batch lines: a duplicate of any field, at any position, in any escape form, is refused by name', () => {
  const base: Array<[string, unknown]> = [
    ['user', 'joe'],
    ['principals', ['joe', 'deploy']],
    ['ttl', '1h'],
    ['public_key', KEY],
    ['force_command', 'uptime'],
  ];
  let n = 0;
  for (let seed = 1; seed <= 3_000; seed++) {
    const r = rng(seed);
    const fields = base.slice();
    const [dupName] = r.pick(fields);
    // The second copy says something else: what a reviewer reads is not what would be signed.
    const dupValue = dupName === 'principals' ? ['root'] : dupName === 'public_key' ? KEY : 'root';
    fields.splice(r.int(fields.length + 1), 0, [dupName, dupValue]);
    const line = `{${fields.map(([k, v]) => `${encode(k, r)}:${typeof v === 'string' ? encode(v, r) : JSON.stringify(v)}`).join(',')}}`;
    assert.equal(refusal(line), `duplicate key ${JSON.stringify(dupName)}: each key may appear once in an object`, line);
    n++;
  }
  // Nested duplicates are found before the type checks would refuse the nesting.
  assert.match(refusal(`{"user":"joe","public_key":"${KEY}","principals":[{"a":1,"\\u0061":2}]}`), /^duplicate key "a"/);
  assert.equal(n, 3_000);
});

test('batch lines: an array element is one name; a string keeps the comma-separated meaning of the flag', () => {
  const r = rng(7);
  const names = ['joe', 'deploy', 'web1', 'db', 'root'];
  for (let i = 0; i < 2_000; i++) {
    // A comma somewhere in one element: inside, leading, trailing, doubled, with spaces.
    const a = r.pick(names);
    const b = r.pick(names);
    const smuggled = r.pick([`${a},${b}`, `,${a}`, `${a},`, `${a},,${b}`, `${a}, ${b}`, `${a} ,${b}`]);
    const field = r.pick(['principals', 'host', 'source_address'] as const);
    const list = [field === 'source_address' ? '10.0.0.2' : r.pick(names)];
    list.splice(r.int(2), 0, field === 'source_address' ? smuggled.replace(/[a-z]+\d*/g, '10.0.0.1') : smuggled);
    const line =
      field === 'host'
        ? JSON.stringify({ host: list.map((x) => `${x}.example.com`.replace(/,/g, '.example.com,')), public_key: KEY })
        : JSON.stringify({ user: 'joe', [field]: list, public_key: KEY });
    assert.match(refusal(line), new RegExp(`^invalid "${field}" entry ".*": must not contain ","`), line);
  }
  // Surrounding whitespace and empty elements are not trimmed away either.
  assert.match(refusal(JSON.stringify({ user: 'joe', principals: [' root'], public_key: KEY })), /leading or trailing whitespace/);
  assert.match(refusal(JSON.stringify({ user: 'joe', principals: ['joe', ''], public_key: KEY })), /"principals" has an empty entry/);
  // A comma in a string value is a list, as --principals=a,b and --host=a,b are.
  assert.deepEqual(parseBatchLine(JSON.stringify({ user: 'joe', principals: 'joe, deploy', public_key: KEY }), 'standard').request.principals, ['joe', 'deploy']);
  assert.deepEqual(parseBatchLine(JSON.stringify({ host: 'web1.example.com,db.example.com', public_key: KEY }), 'standard').request.principals, ['web1.example.com', 'db.example.com']);
  assert.deepEqual(parseBatchLine(JSON.stringify({ host: ['web1.example.com', 'db.example.com'], public_key: KEY }), 'standard').request.principals, ['web1.example.com', 'db.example.com']);
  assert.match(refusal(JSON.stringify({ user: 'a,b', public_key: KEY })), /must not contain ","/);
});
