// Absolute times for --valid-after/--valid-before: RFC 3339 and ssh-keygen's compact forms,
// compared with Date's own reading; everything else is refused with the flag's name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTime } from '../../src/ca/validity.js';
import { checkRequest, checkWindow } from '../../src/ca/request.js';
import type { RequestFields } from '../../src/ca/request.js';

const utc = (iso: string) => Date.parse(iso) / 1000;

test('RFC 3339 and YYYYMMDD[HHMM[SS]][Z] forms', () => {
  assert.equal(parseTime('--valid-after', '2030-01-02T03:04:05Z'), utc('2030-01-02T03:04:05Z'));
  assert.equal(parseTime('--valid-after', '2030-01-02t03:04:05z'), utc('2030-01-02T03:04:05Z'));
  assert.equal(parseTime('--valid-after', '2030-01-02T03:04:05.999+05:30'), utc('2030-01-01T21:34:05Z'));
  assert.equal(parseTime('--valid-after', '2030-01-02T03:04:05-08:00'), utc('2030-01-02T11:04:05Z'));
  assert.equal(parseTime('--valid-after', '20300102Z'), utc('2030-01-02T00:00:00Z'));
  assert.equal(parseTime('--valid-after', '203001020304Z'), utc('2030-01-02T03:04:00Z'));
  assert.equal(parseTime('--valid-after', '20300102030405Z'), utc('2030-01-02T03:04:05Z'));
  // Without Z, ssh-keygen's forms are local time, as ssh-keygen -V reads them.
  assert.equal(parseTime('--valid-after', '20300102030405'), new Date(2030, 0, 2, 3, 4, 5).getTime() / 1000);
  assert.equal(parseTime('--valid-after', '20240229Z'), utc('2024-02-29T00:00:00Z'));
  assert.equal(parseTime('--valid-after', '9999-12-31T23:59:59Z'), 253402300799);
});

test('random valid times round-trip through both spellings', () => {
  let s = Date.now() % 100000;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < 2000; i++) {
    const t = Math.floor(r() * 253402300799);
    const iso = new Date(t * 1000).toISOString().replace(/\.000Z$/, 'Z');
    assert.equal(parseTime('--valid-before', iso), t, iso);
    const compact = iso.replace(/[-:T]/g, '');
    assert.equal(parseTime('--valid-before', compact), t, compact);
  }
});

test('impossible, ambiguous and out-of-range times are refused', () => {
  for (const bad of [
    '', 'now', '+1h', '2030-01-02', '2030-01-02T03:04:05', '2030-01-02 03:04:05Z', '2030-13-01T00:00:00Z', '2030-02-29T00:00:00Z',
    '2030-04-31T00:00:00Z', '2030-01-00T00:00:00Z', '2030-01-02T24:00:00Z', '2030-01-02T23:60:00Z', '2030-01-02T23:59:60Z',
    '2030-01-02T03:04:05+24:00', '2030-01-02T03:04:05+05:60', '1969-12-31T23:59:59Z', '0070-01-01T00:00:00Z', '00700101Z',
    '10000-01-01T00:00:00Z', '2030010', '203001020', '2030010203', '20300102030', '2030010203040', '203001020304056',
    '２０３００１０２', '2030-01-02T03:04:05.1234567890Z', ' 20300102', '20300102\n', 'x'.repeat(100),
  ]) {
    assert.throws(() => parseTime('--valid-after', bad), (e: Error) => /^(invalid )?--valid-after/.test(e.message), JSON.stringify(bad));
  }
});

test('a window: after before before, at most 87600h long, not with --ttl, not over, not beyond the cap', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const t = now.getTime() / 1000;
  const user = (extra: Partial<RequestFields>): RequestFields => ({ type: 'user', keyId: 'joe', principals: ['joe'], compat: 'standard', ...extra });
  const check = (extra: Partial<RequestFields>) => checkWindow(checkRequest(user(extra)), now);
  check({ validAfter: t + 3600, validBefore: t + 7200 });
  check({ validAfter: t - 3600 });
  check({ validBefore: t + 60 });
  check({ validAfter: t + 3600, ttlSeconds: 600 });
  assert.throws(() => check({ validAfter: t + 7200, validBefore: t + 7200 }), /is not before --valid-before/);
  assert.throws(() => check({ validAfter: t + 7200, validBefore: t + 3600 }), /is not before --valid-before/);
  assert.throws(() => check({ validBefore: t + 3600, ttlSeconds: 600 }), /--ttl and --valid-before/);
  assert.throws(() => check({ validAfter: t, validBefore: t + 87600 * 3600 + 1 }), /longer than the maximum of 87600h/);
  assert.throws(() => check({ validBefore: t }), /in the past/);
  assert.throws(() => check({ validBefore: t + 87600 * 3600 + 1 }), /more than the maximum of 87600h/);
  assert.throws(() => check({ validAfter: t + 87600 * 3600 }), /more than the maximum of 87600h/);
  assert.throws(() => check({ validAfter: t - 7200, ttlSeconds: 3600 }), /ends in the past/);
  for (const v of [Number.NaN, Infinity, -1, 1.5, 2 ** 60]) assert.throws(() => check({ validAfter: v }), /out of range/, String(v));
});
