import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { formatIp, isDottedQuad, isV4Mapped, parseInet6, parseInetAton } from '../../src/ca/ip.js';
import { SSHD_MAX_ENTRY, checkSourceAddress, checkSourceAddresses, sshdCidrList } from '../../src/ca/source-address.js';
import type { CidrEntry } from '../../src/ca/source-address.js';
import { cidrEntry, rng, testSeed } from '../helpers/cidr-gen.js';

/** Our verdict: the entry as written into the certificate, or the error. */
function ours(entry: string): { ok: true; out: string } | { ok: false; err: UsageError } {
  try {
    return { ok: true, out: checkSourceAddress(entry) };
  } catch (err) {
    assert.ok(err instanceof UsageError, `${JSON.stringify(entry)}: ${String(err)}`);
    return { ok: false, err };
  }
}

const sameNetwork = (a: CidrEntry, b: CidrEntry) => a.addr.family === b.addr.family && a.masklen === b.masklen && Buffer.from(a.addr.bytes).equals(b.addr.bytes);

/** What the WHATWG URL parser (an independent RFC 5952 serialiser) makes of an IPv6 address. */
const urlCanonical = (v6: string) => new URL(`http://[${v6}]/`).hostname.slice(1, -1);

test('source-address: exact cases sshd would read differently or refuse', () => {
  const accepted: Array<[string, string]> = [
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'], // masklen_valid allows 0; only an all-zero address has no host bits
    ['::/0', '::/0'],
    ['10.0.0.1/32', '10.0.0.1/32'],
    ['192.168.1.7', '192.168.1.7'],
    ['::1/128', '::1/128'],
    ['2001:0DB8:0000::/32', '2001:db8::/32'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:1:0:0:0:0/64', '2001:db8:0:1::/64'],
    ['1.0.0.0/08', '1.0.0.0/8'], // sshd reads the mask with strtoul, base 10
    ['::1.2.3.4', '::102:304'],
  ];
  for (const [input, out] of accepted) {
    assert.equal(checkSourceAddress(input), out, input);
    assert.ok(sshdCidrList(input).ok, `model accepts ${input}`);
  }
  const refused: Array<[string, RegExp, RegExp?]> = [
    ['127.0.0.1/8', /bits set past the mask/, /did you mean 127\.0\.0\.0\/8\?/],
    ['10.0.0.0/0', /bits set past the mask/],
    ['2001:db8::1/32', /bits set past the mask/, /2001:db8::\/32/],
    ['fe80::1%lo', /zone ids/],
    ['127.0.0.1%lo', /zone ids/],
    ['127.1', /sshd reads this as 127\.0\.0\.1 /],
    ['010.0.0.0/8', /sshd reads this as 8\.0\.0\.0\/8 /],
    ['2130706433', /sshd reads this as 127\.0\.0\.1 /],
    ['::ffff:10.0.0.0/104', /IPv4-mapped/, /write 10\.0\.0\.0\/8/],
    ['::ffff:127.0.0.1', /IPv4-mapped/, /write 127\.0\.0\.1$/],
    ['10.0.0.0/33', /mask must be a number from 0 to 32/],
    ['::/129', /mask must be/],
    ['10.0.0.0/', /mask must be/],
    ['10.0.0.0/+8', /only digits, a-f/],
    [' 10.0.0.1', /only digits, a-f/],
    ['10.0.0.1 ', /only digits, a-f/],
    ['!10.0.0.0/8', /only digits, a-f/],
    ['*', /only digits, a-f/],
    ['example.com', /only digits, a-f/],
    ['', /empty/],
    ['abc', /not an address/],
    ['1:2:3:4:5:6:7::8', /not an address/],
    ['0000:0000:0000:0000:0000:0000:0000:0001/00000000128', /longer than 49/],
  ];
  for (const [input, re, hint] of refused) {
    const r = ours(input);
    assert.ok(!r.ok, `${JSON.stringify(input)} is refused`);
    assert.match(r.err.message, /^invalid --source-address entry /);
    assert.match(r.err.message, re, input);
    assert.doesNotMatch(r.err.message, /\n/);
    if (hint) assert.match(r.err.hint ?? '', hint, input);
  }
  // Lists: duplicates (after normalising) go, order stays; empty and huge lists are refused.
  assert.deepEqual(checkSourceAddresses(['10.0.0.0/8', '192.168.0.0/16', '10.0.0.0/08', '::1', '0:0::1']), ['10.0.0.0/8', '192.168.0.0/16', '::1']);
  assert.throws(() => checkSourceAddresses([]), /--source-address is empty/);
  assert.throws(() => checkSourceAddresses(Array.from({ length: 257 }, (_, i) => `10.0.${i >> 8}.${i & 255}`)), /too many --source-address entries: 257 \(at most 256\)/);
  // sshd refuses a list with an empty entry anywhere, and a list that is empty.
  for (const list of ['', ',', '10.0.0.0/8,', ',10.0.0.0/8', '10.0.0.0/8,,::1']) assert.equal(sshdCidrList(list).ok, false, JSON.stringify(list));
});

test('source-address: generated entries; ours accepts exactly what the sshd model accepts, minus misleading forms', () => {
  const seed = testSeed();
  const r = rng(seed);
  const counts = { accepted: 0, refusedBoth: 0, ambiguousV4: 0, mapped: 0 };
  for (let i = 0; i < 30000; i++) {
    const entry = cidrEntry(r);
    const where = `seed ${seed} (TCTL_TEST_SEED), case ${i}: ${JSON.stringify(entry)}`;
    const model = sshdCidrList(entry);
    const got = ours(entry);
    if (got.ok) {
      counts.accepted++;
      assert.ok(model.ok, `${where}: we accept what sshd refuses`);
      const written = sshdCidrList(got.out);
      assert.ok(written.ok, `${where}: sshd refuses what we write (${got.out})`);
      assert.ok(sameNetwork(model.entries[0]!, written.entries[0]!), `${where}: ${got.out} is another network`);
      assert.equal(checkSourceAddress(got.out), got.out, `${where}: not idempotent`);
      assert.equal(got.out, got.out.toLowerCase(), where);
      assert.ok(got.out.length <= SSHD_MAX_ENTRY, where);
      if (model.entries[0]!.addr.family === 6) assert.equal(got.out.split('/')[0], urlCanonical(got.out.split('/')[0]!), `${where}: not RFC 5952`);
      else assert.ok(isDottedQuad(got.out.split('/')[0]!), where);
    } else if (!model.ok) {
      counts.refusedBoth++;
    } else {
      // The only entries sshd takes and we refuse: IPv4 that is not a plain dotted quad, and IPv4-mapped IPv6.
      const e = model.entries[0]!;
      if (e.addr.family === 4) {
        counts.ambiguousV4++;
        assert.ok(!isDottedQuad(entry.split('/')[0]!), `${where}: refused a plain address: ${got.err.message}`);
        assert.match(got.err.message, /sshd reads this as /, where);
      } else {
        counts.mapped++;
        assert.ok(isV4Mapped(e.addr.bytes), `${where}: refused an address sshd accepts: ${got.err.message}`);
        assert.match(got.err.message, /IPv4-mapped/, where);
      }
    }
  }
  // The generator must reach every class, or the test proves little.
  for (const [k, n] of Object.entries(counts)) assert.ok(n > 50, `only ${n} ${k} cases (seed ${seed})`);
});

test('address parsers: dotted quads, inet_aton forms and IPv6 against independent parsers', () => {
  const seed = testSeed();
  const r = rng(seed);
  for (let i = 0; i < 20000; i++) {
    const o = Array.from({ length: 4 }, () => Math.floor(r() * 256));
    const quad = o.join('.');
    assert.deepEqual(Array.from(parseInetAton(quad)!), o, quad);
    const n = ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
    // inet_aton: a.b.c (c is 16 bits), a.b (b is 24 bits), a (32 bits), octal parts.
    assert.deepEqual(Array.from(parseInetAton(`${o[0]}.${o[1]}.${(o[2]! << 8) + o[3]!}`)!), o);
    assert.deepEqual(Array.from(parseInetAton(`${o[0]}.${n & 0xffffff}`)!), o);
    assert.deepEqual(Array.from(parseInetAton(String(n))!), o);
    assert.deepEqual(Array.from(parseInetAton(o.map((x) => '0' + x.toString(8)).join('.'))!), o);

    const groups = Array.from({ length: 8 }, () => (r() < 0.4 ? 0 : Math.floor(r() * 0x10000)));
    const full = groups.map((g) => g.toString(16).padStart(r() < 0.5 ? 4 : 1, '0')).join(':');
    const text = r() < 0.5 ? full.toUpperCase() : full;
    const bytes = parseInet6(text);
    assert.ok(bytes, text);
    const canonical = formatIp({ family: 6, bytes });
    if (!isV4Mapped(bytes)) assert.equal(canonical, urlCanonical(text), `seed ${seed}: ${text}`);
    assert.deepEqual(parseInet6(canonical), bytes, canonical);
  }
  for (const bad of ['08.1.1.1', '1.2.3.4.5', '1..2.3', '256.1.1.1', '1.2.3.256', '1.2.65536', '4294967296', '0x', '1.2.3.4 ', '']) {
    assert.equal(parseInetAton(bad), undefined, bad);
  }
  for (const bad of [':::', ':1::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '12345::', '::1:', '::01.2.3.4', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', '']) {
    assert.equal(parseInet6(bad), undefined, bad);
  }
});
