import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import { TTL_CAP, formatDuration, parseDuration } from '../../src/ca/duration.js';
import type { DurationCap } from '../../src/ca/duration.js';
import { UsageError } from '../../src/errors.js';
import { GRACE_CAP } from '../../src/rotation/rotate.js';

const CAPS: Array<[string, DurationCap]> = [['--ttl', TTL_CAP], ['--grace-period', GRACE_CAP]];

/** Either a whole number of seconds within the cap, or a usage error naming the flag and never Infinity/NaN. */
function checkOne(flag: string, cap: DurationCap, text: string): number | UsageError {
  let out: number | UsageError;
  try {
    out = parseDuration(flag, text, cap);
  } catch (err) {
    assert.ok(err instanceof UsageError, `${text}: ${String(err)}`);
    assert.ok(err.message.includes(flag), err.message);
    // The user's own text is echoed in quotes; nothing tctl computed may be Infinity, NaN or an exponent.
    assert.doesNotMatch(`${err.message} ${err.hint ?? ''}`.replace(/"[^"]*"/g, '""'), /Infinity|NaN|e\+\d/, text);
    return err;
  }
  assert.ok(Number.isSafeInteger(out) && out >= 1 && out <= cap.seconds, `${text} -> ${out}`);
  return out;
}

test('hostile durations: refused naming the cap, never Infinity, NaN or a number past it', () => {
  const over = [
    '8000000000h',
    `${'9'.repeat(400)}h`,
    `${'9'.repeat(60)}s`,
    '9007199254740993s',
    '9007199254740992s',
    '99999999999h99999999999h',
    '87600h1s',
    '3650d1s',
    '315360000.000000001s',
    '1h'.repeat(32).replace(/1h/g, '9999999h'),
    `${'1'.repeat(20)}d`,
    '18446744073709551617s',
  ];
  for (const [flag, cap] of CAPS) {
    for (const text of over) {
      const r = checkOne(flag, cap, text);
      assert.ok(r instanceof UsageError, `${flag}=${text} accepted as ${String(r)}`);
      assert.ok(r.message.includes(cap.text), `${text}: ${r.message}`);
    }
    assert.equal(parseDuration(flag, `${cap.seconds}s`, cap), cap.seconds, 'the cap itself is allowed');
    assert.equal(parseDuration(flag, `${cap.seconds - 1}.999999999999999999999s`, cap), cap.seconds - 1, 'fractions floor');
  }
  const r = checkOne('--grace-period', GRACE_CAP, '8761h');
  assert.match((r as UsageError).message, /"8761h" is longer than the maximum of 8760h \(1 year\)/);
  assert.equal(parseDuration('--ttl', '8761h'), 8761 * 3600, '--ttl keeps its own, larger cap');
});

test('malformed and fractional edge cases are refused or exact', () => {
  const refused = ['1e400h', '1e3s', 'Infinity', 'NaNh', '1h.5m', '.5h', '5.h', '1..5h', '0x10h', '1_000h', '１h', '1h\n', ' 1h', '+1h', '-0h', '0.0000000001s', '0.9s', '0h0m0s', '1y', 'h1'];
  for (const text of refused) assert.ok(checkOne('--ttl', TTL_CAP, text) instanceof UsageError, text);
  assert.equal(parseDuration('--ttl', '0.5s1.5s'), 2);
  assert.equal(parseDuration('--ttl', '1.000000000999h'), 3600, 'digits past a nanosecond are dropped, not rounded up');
  assert.equal(parseDuration('--ttl', '0.1h0.2h0.7h'), 3600, 'exact decimal sums: no 0.1 + 0.2 drift');
  assert.equal(parseDuration('--ttl', `${'0'.repeat(60)}1h`), 3600, 'leading zeros are not digits of magnitude');
  const long = checkOne('--ttl', TTL_CAP, `${'0'.repeat(70)}1h`) as UsageError;
  assert.match(long.message, /more than 64 characters; the maximum is 87600h \(10 years\)/);
  assert.ok(long.message.length < 200, 'a long value is shortened in the message');
});

test('random strings over the duration alphabet never yield a non-finite or over-cap value', () => {
  const alphabet = '0123456789999999.smhdxe';
  let accepted = 0;
  for (let i = 0; i < 20000; i++) {
    let text = '';
    const len = randomInt(1, 80);
    for (let j = 0; j < len; j++) text += alphabet[randomInt(alphabet.length)];
    for (const [flag, cap] of CAPS) if (typeof checkOne(flag, cap, text) === 'number') accepted++;
  }
  // Random valid durations: a number of up to 6 digits and a unit, several times.
  for (let i = 0; i < 5000; i++) {
    const parts = Array.from({ length: randomInt(1, 4) }, () => `${randomInt(0, 999999)}${'smhd'[randomInt(4)]}`);
    for (const [flag, cap] of CAPS) if (typeof checkOne(flag, cap, parts.join('')) === 'number') accepted++;
  }
  assert.ok(accepted > 1000, `some random values are valid (${accepted})`);
});

test('formatDuration never prints Infinity or NaN', () => {
  for (const v of [Infinity, -Infinity, NaN, -1]) assert.doesNotMatch(formatDuration(v), /Infinity|NaN/);
  assert.equal(formatDuration(GRACE_CAP.seconds), '365d');
});
