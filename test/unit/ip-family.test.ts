// ipFamily stands in for node:net's isIP on the signing path (node:net is not loaded there), so it
// must answer as isIP does for whatever a user may type: generated addresses, their mutations and
// random strings over the characters that matter.
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import { ipFamily } from '../../src/ca/ip.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function samples(count: number, seed: number): string[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const hex = () => Math.floor(r() * 0x10000).toString(16).slice(0, 1 + Math.floor(r() * 4));
  const octet = () => pick(['0', '1', '9', '10', '99', '199', '255', '256', '300', '01', '00', String(Math.floor(r() * 256))]);
  const quad = () => Array.from({ length: pick([3, 4, 4, 4, 5]) }, octet).join('.');
  const v6 = () => {
    const groups = Array.from({ length: Math.floor(r() * 9) }, hex);
    if (r() < 0.5) groups.splice(Math.floor(r() * (groups.length + 1)), 0, '');
    let text = groups.join(':');
    if (r() < 0.2) text += ':' + quad();
    if (r() < 0.1) text = ':' + text;
    if (r() < 0.1) text += ':';
    if (r() < 0.15) text += '%' + pick(['eth0', '', '1', 'a.b', 'x-y', 'é']);
    return text;
  };
  const out: string[] = [];
  const alphabet = '0123456789abcdefABCDEFg:.% ';
  for (let i = 0; i < count; i++) {
    const kind = r();
    let text = kind < 0.3 ? quad() : kind < 0.8 ? v6() : Array.from({ length: Math.floor(r() * 20) }, () => pick([...alphabet])).join('');
    if (r() < 0.2) {
      const at = Math.floor(r() * (text.length + 1));
      text = text.slice(0, at) + pick([...alphabet, '']) + text.slice(at + (r() < 0.5 ? 1 : 0));
    }
    out.push(text);
  }
  return out;
}

test('ipFamily answers as net.isIP for 100,000 generated strings', () => {
  const fixed = ['', '::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '::ffff:10.0.0.1', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%eth0', 'fe80::1%', '%eth0', '10.0.0.1', '010.0.0.1', '10.0.0', '1.2.3.4.5', ':::', '1:::2', '12345::'];
  const mismatches: string[] = [];
  for (const text of [...fixed, ...samples(100_000, 0x1f2e3d)]) {
    if (ipFamily(text) !== isIP(text)) mismatches.push(`${JSON.stringify(text)}: ipFamily ${ipFamily(text)}, isIP ${isIP(text)}`);
  }
  assert.deepEqual(mismatches.slice(0, 20), []);
});
