// Names that read as something they are not: invisible and bidi characters, edge whitespace,
// IP literals with more than one spelling. Generated in bulk, the way an attacker would try them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { checkHostPrincipal, checkUserPrincipal, checkUserPrincipals } from '../../src/ca/principals.js';
import { checkRequest } from '../../src/ca/request.js';
import { rng, testSeed } from '../helpers/cidr-gen.js';
import type { Rng } from '../helpers/cidr-gen.js';

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** Every code point of these categories (a scan of all of Unicode, so new ones are included). */
function codePoints(re: RegExp): string[] {
  const out: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    if (re.test(c)) out.push(c);
  }
  return out;
}

function goodName(r: Rng): string {
  const first = 'abcdefghijklmnopqrstuvwxyz_';
  const rest = 'abcdefghijklmnopqrstuvwxyz0123456789._-@';
  let s = pick(r, [...first]);
  for (let i = int(r, 20); i > 0; i--) s += pick(r, [...rest]);
  return s;
}

function refusedAsUsage(fn: () => unknown, re: RegExp, what: string): UsageError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UsageError, `${what}: ${String(err)}`);
    assert.match(err.message, re, what);
    return err;
  }
  assert.fail(`${what} was accepted`);
}

const userRequest = (keyId: string, principals = [keyId]) => ({ type: 'user' as const, keyId, principals, compat: 'standard' as const });

test('user names: every format (Cf) character, lone surrogates and line separators are refused anywhere', () => {
  const seed = testSeed();
  const r = rng(seed);
  const format = codePoints(/\p{Cf}/u);
  // The ones the issue names must be in the scan, or the scan is wrong.
  for (const c of ['\u202e', '\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u2066', '\u2067', '\u2068', '\u2069', '\ufeff', '\u{e0001}']) assert.ok(format.includes(c));
  const invisible = [...format, '\u2028', '\u2029', '\ud800', '\udfff'];
  for (const c of invisible) {
    const name = goodName(r);
    const at = int(r, name.length + 1);
    const bad = name.slice(0, at) + c + name.slice(at);
    const where = `seed ${seed}: U+${c.codePointAt(0)!.toString(16)} in ${JSON.stringify(bad)}`;
    const err = refusedAsUsage(() => checkRequest(userRequest(bad)), /^invalid user name "[^"]*": contains the invisible character U\+[0-9A-F]{4,6}$/, where);
    // The error itself must not carry the character: it would reorder the terminal line it is printed on.
    assert.ok(!err.message.includes(c), where);
    refusedAsUsage(() => checkRequest(userRequest(goodName(r), [goodName(r), bad])), /^invalid principal /, where);
  }
});

test('user names: whitespace at either end is refused, any kind of space', () => {
  const seed = testSeed();
  const r = rng(seed);
  const spaces = codePoints(/\s/u);
  assert.ok(spaces.length >= 25 && spaces.includes('\u00a0') && spaces.includes('\u3000'));
  for (const c of spaces) {
    for (const bad of [c + goodName(r), goodName(r) + c, c]) {
      assert.throws(() => checkUserPrincipal('user name', bad), (err: unknown) => err instanceof UsageError, `seed ${seed}: ${JSON.stringify(bad)}`);
      assert.throws(() => checkUserPrincipals([goodName(r), bad]), UsageError);
    }
  }
  refusedAsUsage(() => checkUserPrincipal('user name', ' bob'), /^invalid user name " bob": starts or ends with whitespace$/, 'bob');
  for (let i = 0; i < 2000; i++) {
    const name = goodName(r);
    assert.equal(checkUserPrincipal('user name', name), name);
  }
  // Letters of other scripts are names, not tricks.
  for (const name of ['jöhn', 'мария', '李']) assert.equal(checkUserPrincipal('user name', name), name);
});

function v6Spelling(r: Rng, groups: number[]): string {
  const hex = groups.map((g) => {
    const h = g.toString(16).padStart(pick(r, [1, 2, 4]), '0');
    return r() < 0.3 ? h.toUpperCase() : h;
  });
  const zero = groups.indexOf(0);
  if (zero < 0 || r() < 0.3) return hex.join(':');
  let end = zero;
  while (end < 8 && groups[end] === 0) end++;
  return `${hex.slice(0, zero).join(':')}::${hex.slice(end).join(':')}`;
}

test('host principals: IPv6 written one way, zone ids and ambiguous IPv4 refused, names lowercased', () => {
  const seed = testSeed();
  const r = rng(seed);
  for (let i = 0; i < 5000; i++) {
    const groups = Array.from({ length: 8 }, () => (r() < 0.5 ? 0 : int(r, 0x10000)));
    if (groups[5] === 0xffff && groups.slice(0, 5).every((g) => g === 0)) continue; // mapped: checked below
    const spelled = v6Spelling(r, groups);
    const where = `seed ${seed}: ${spelled}`;
    const canonical = new URL(`http://[${spelled}]/`).hostname.slice(1, -1);
    assert.equal(checkHostPrincipal(spelled), canonical, where);
    assert.equal(checkHostPrincipal(canonical), canonical, where);
    refusedAsUsage(() => checkHostPrincipal(`${spelled}%${pick(r, ['eth0', 'lo', '1', 'en0', '%25'])}`), /zone ids/, where);
  }
  assert.equal(checkHostPrincipal('2001:0db8:0000::1'), '2001:db8::1');
  assert.equal(checkHostPrincipal('::FFFF:0A00:0001'), '::ffff:10.0.0.1');
  assert.equal(checkHostPrincipal('0:0:0:0:0:0:0:0'), '::');
  assert.equal(checkHostPrincipal('2001:db8:0:1:0:0:0:1'), '2001:db8:0:1::1'); // a single zero group is not "::"
  for (const bad of ['1:2:3:4:5:6:7::8', '2001:db8:::1', '12345::1', '::1:', 'fe80::1%', '[::1]']) assert.throws(() => checkHostPrincipal(bad), UsageError, bad);

  for (let i = 0; i < 3000; i++) {
    const o = Array.from({ length: 4 }, () => int(r, 256));
    assert.equal(checkHostPrincipal(o.join('.')), o.join('.'));
    const n = ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
    const padded = int(r, 4);
    const odd = pick(r, [
      o.map((x, k) => (k === padded ? `0${x}` : String(x))).join('.'),
      `${o[0]}.${o[1]}.${(o[2]! << 8) + o[3]!}`,
      `${o[0]}.${n & 0xffffff}`,
      `${o[0]}.${o[1]}.0${o[2]!.toString(8)}.${o[3]}`,
    ]);
    refusedAsUsage(() => checkHostPrincipal(odd), /ambiguous IPv4 address \(ssh would connect to \d+\.\d+\.\d+\.\d+\)|not a valid DNS name/, `seed ${seed}: ${odd}`);
  }
  refusedAsUsage(() => checkHostPrincipal('010.0.0.1'), /^invalid host name "010\.0\.0\.1": ambiguous IPv4 address \(ssh would connect to 8\.0\.0\.1\)$/, '010.0.0.1');

  // Host key ids follow the principal: lowercase, like the name ssh compares.
  for (let i = 0; i < 500; i++) {
    const name = [goodName(r).replace(/[^a-z0-9]/g, 'x'), 'example', 'com'].join('.');
    const mixed = [...name].map((c) => (r() < 0.5 ? c.toUpperCase() : c)).join('');
    const checked = checkRequest({ type: 'host', keyId: mixed, principals: [mixed, 'other.example.com'], compat: 'standard' });
    assert.equal(checked.keyId, name);
    assert.deepEqual(checked.principals, [name, 'other.example.com']);
  }
});
