// Permit lists in any order, with repeats, through the request check and the encoder: the
// certificate always carries them sorted and unique, and exactly the set that was asked for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PERMITS, checkPermits, permitExtension, resolvePermits } from '../../src/ca/extensions.js';
import type { Permit } from '../../src/ca/extensions.js';
import { certificateBody, checkRequest } from '../../src/ca/request.js';
import type { RequestFields } from '../../src/ca/request.js';
import { parseCertificate, signCertificate } from '../../src/ssh/certificate.js';
import { generatePrivateKey, sshPublicKey } from '../../src/ssh/keys.js';

/** Small deterministic generator, so a failure names a reproducible seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('every subset of permits, shuffled and repeated, encodes sorted and unique', () => {
  const ca = generatePrivateKey('ed25519');
  const publicKey = sshPublicKey(generatePrivateKey('ed25519'));
  const seed = Date.now() % 100000;
  const r = rng(seed);
  for (let mask = 0; mask < 1 << PERMITS.length; mask++) {
    const want = PERMITS.filter((_, i) => mask & (1 << i));
    for (let round = 0; round < 8; round++) {
      // Shuffled, with each name repeated up to three times.
      const names = want.flatMap((p) => Array.from({ length: 1 + Math.floor(r() * 3) }, () => p)).sort(() => r() - 0.5);
      const permits = names.length === 0 ? [] : checkPermits('--permit', names);
      assert.deepEqual(permits, want, `seed ${seed}: ${names.join(',')}`);
      const forceCommand = r() < 0.5 ? 'uptime' : undefined;
      const req = checkRequest({ type: 'user' as const, keyId: 'joe', principals: ['joe'], compat: r() < 0.5 ? 'oldssh' : 'standard', permits: names as Permit[], forceCommand });
      const body = certificateBody({ ...req, publicKey }, { clusterName: 'example.com', serial: 1n, now: new Date() });
      const cert = parseCertificate(signCertificate(body, ca));
      const ext = cert.rawExtensions.map((o) => o.name);
      const sorted = [...new Set(ext)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(ext, sorted, `seed ${seed}: ${names.join(',')}`);
      assert.deepEqual(ext.filter((e) => e.startsWith('permit-')).sort(), want.map(permitExtension).sort(), `seed ${seed}`);
    }
  }
});

test('defaults: all permits, a pty only with force-command; --no-* after either; contradictions refused', () => {
  assert.deepEqual(resolvePermits({ forceCommand: false }), [...PERMITS]);
  assert.deepEqual(resolvePermits({ forceCommand: true }), ['pty']);
  assert.deepEqual(resolvePermits({ forceCommand: true, deny: ['pty'] }), []);
  assert.deepEqual(resolvePermits({ forceCommand: true, permit: ['port-forwarding', 'pty'] }), ['port-forwarding', 'pty']);
  assert.deepEqual(resolvePermits({ forceCommand: false, deny: ['port-forwarding', 'x11-forwarding'] }), ['agent-forwarding', 'pty', 'user-rc']);
  assert.throws(() => resolvePermits({ forceCommand: false, permit: ['pty'], deny: ['pty'] }), /--permit lists "pty" and --no-pty/);
  // A request built in code without permits gets the same defaults at signing time.
  const req = checkRequest<RequestFields>({ type: 'user' as const, keyId: 'ci', principals: ['ci'], compat: 'standard' as const, forceCommand: 'uptime' });
  assert.deepEqual(req.permits, ['pty']);
  assert.throws(() => checkRequest({ type: 'host' as const, keyId: 'a.example.com', principals: ['a.example.com'], compat: 'standard' as const, permits: ['pty'] }), /apply to user certificates only/);
  for (const bad of ['PTY', 'permit-pty', 'X11-forwarding', 'port_forwarding', '', ' pty', 'clear']) {
    assert.throws(() => checkPermits('--permit', [bad]), /invalid --permit/, JSON.stringify(bad));
  }
  assert.deepEqual(checkPermits('--permit', ['none']), []);
});
