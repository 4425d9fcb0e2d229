import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from '../../src/ca/duration.js';
import { checkClusterName, checkHostPrincipal, checkHostPrincipals, checkUserPrincipal, splitList } from '../../src/ca/principals.js';
import { checkRequest } from '../../src/ca/request.js';
import type { RequestFields } from '../../src/ca/request.js';

test('durations: Go style plus days', () => {
  assert.equal(parseDuration('--ttl', '30m'), 1800);
  assert.equal(parseDuration('--ttl', '8h'), 28800);
  assert.equal(parseDuration('--ttl', '1h30m'), 5400);
  assert.equal(parseDuration('--ttl', '7d'), 604800);
  assert.equal(parseDuration('--ttl', '90s'), 90);
  assert.equal(parseDuration('--ttl', '1.5h'), 5400);
  for (const bad of ['', '8', 'h', '8x', '-1h', '0s', '1h 30m', '1H', 'abc', '1h30']) {
    assert.throws(() => parseDuration('--ttl', bad), /--ttl/, bad);
  }
  assert.equal(formatDuration(5400), '1h30m');
  assert.equal(formatDuration(90061), '1d1h1m1s');
});

test('host principals: DNS names and IPs, no wildcards or empties', () => {
  assert.equal(checkHostPrincipal('api.example.com'), 'api.example.com');
  assert.equal(checkHostPrincipal('API.Example.COM'), 'api.example.com');
  assert.equal(checkHostPrincipal('64.225.88.175'), '64.225.88.175');
  assert.equal(checkHostPrincipal('2001:db8::1'), '2001:db8::1');
  assert.equal(checkHostPrincipal('localhost'), 'localhost');
  assert.equal(checkHostPrincipal('xn--bcher-kva.example'), 'xn--bcher-kva.example');
  for (const bad of ['*.example.com', 'a?.example.com', '', 'a..b', '-a.com', 'a-.com', 'a b', 'a\nb', '[::1]', '1.2.3.999', 'a/b', 'a,b', `${'a'.repeat(64)}.com`, `${'a.'.repeat(127)}com`]) {
    assert.throws(() => checkHostPrincipal(bad), /invalid host name/, JSON.stringify(bad));
  }
  assert.throws(() => checkHostPrincipal('bücher.example'), (e: Error & { hint?: string }) => /not ASCII/.test(e.message) && /xn--bcher-kva\.example/.test(e.hint ?? ''));
  assert.throws(() => checkHostPrincipals(Array.from({ length: 257 }, (_, i) => `h${i}.example.com`)), /at most 256/);
  assert.deepEqual(checkHostPrincipals(['a.example.com', 'A.example.com']), ['a.example.com']);
});

test('lists refuse empty entries', () => {
  assert.deepEqual(splitList('--host', 'a,b'), ['a', 'b']);
  for (const bad of ['a,,b', 'a,', ',a', '', ' ']) assert.throws(() => splitList('--host', bad), /--host/);
});

test('user names and principals', () => {
  assert.equal(checkUserPrincipal('user name', 'joe'), 'joe');
  assert.equal(checkUserPrincipal('user name', 'joe@example.com'), 'joe@example.com');
  for (const bad of ['', '-joe', 'a,b', 'a/b', 'a\u0000b', 'a\tb', 'a\u007fb', 'x'.repeat(257)]) {
    assert.throws(() => checkUserPrincipal('user name', bad), /user name/, JSON.stringify(bad));
  }
});

test('cluster names are DNS names', () => {
  assert.equal(checkClusterName('example.com'), 'example.com');
  for (const bad of ['', '*.example.com', 'a b', '10.0.0.1', 'a,b']) assert.throws(() => checkClusterName(bad), /cluster-name/);
});

test('requests: ttl cap and critical options', () => {
  const base: RequestFields = { type: 'user', principals: ['joe'], keyId: 'joe', compat: 'standard' };
  assert.throws(() => checkRequest({ ...base, ttlSeconds: 87600 * 3600 + 1 }), /maximum of 87600h/);
  assert.doesNotThrow(() => checkRequest({ ...base, ttlSeconds: 87600 * 3600 }));
  assert.throws(() => checkRequest({ ...base, sourceAddress: ['10.0.0.0/33'] }), /source-address/);
  assert.throws(() => checkRequest({ ...base, sourceAddress: ['example.com'] }), /source-address/);
  assert.deepEqual(checkRequest({ ...base, sourceAddress: ['10.0.0.0/8', '::1/128', '192.168.1.7'] }).sourceAddress, ['10.0.0.0/8', '::1/128', '192.168.1.7']);
  assert.throws(() => checkRequest({ ...base, forceCommand: 'a\nb' }), /single line/);
  assert.throws(() => checkRequest({ ...base, type: 'host', principals: ['h.example.com'], forceCommand: 'ls' }), /user certificates only/);
});
