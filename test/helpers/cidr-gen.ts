// Generated source-address entries, good and bad, for property tests: every class of input an
// operator (or an attacker feeding a batch file) could write. Seeded, so a failure can be replayed.

export type Rng = () => number;

/** mulberry32: small, fast and good enough to spread test cases. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of this run: TCTL_TEST_SEED to replay one, else a fresh one (tests print it on failure). */
export function testSeed(): number {
  const env = process.env.TCTL_TEST_SEED;
  return env !== undefined && /^\d+$/.test(env) ? Number(env) : Math.floor(Math.random() * 2 ** 31);
}

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)]!;

function octets(r: Rng): number[] {
  // Bias towards 0 and 255 so networks with clear host bits come up often.
  return Array.from({ length: 4 }, () => pick(r, [0, 0, 255, int(r, 256), int(r, 256), 127, 10]));
}

function clearHostBits(bytes: number[], masklen: number): number[] {
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, masklen - 8 * i));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
}

function v4(r: Rng): string {
  const mask = pick(r, [undefined, 0, 8, 16, 24, 32, int(r, 33), int(r, 33), 33, 64, 128, 129]);
  let o = octets(r);
  if (mask !== undefined && mask <= 32 && r() < 0.6) o = clearHostBits(o, mask);
  if (mask === undefined) return o.join('.');
  const maskText = r() < 0.1 ? `0${mask}` : String(mask);
  return `${o.join('.')}/${maskText}`;
}

/** inet_aton forms: short, octal, leading zeros, huge, hex. */
function v4Odd(r: Rng): string {
  const o = octets(r);
  const forms = [
    () => o.map((x) => (r() < 0.5 ? `0${x}` : String(x))).join('.'),
    () => `${o[0]}.${o[1]}.${o[2]! * 256 + o[3]!}`,
    () => `${o[0]}.${(o[1]! << 16) + (o[2]! << 8) + o[3]!}`,
    () => String(((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!),
    () => `0${int(r, 8)}${int(r, 8)}.0.0.1`,
    () => `0${8 + int(r, 2)}.1.2.3`,
    () => `0x${o[0]!.toString(16)}.1.2.3`,
    () => `${o.join('.')}.${int(r, 256)}`,
    () => `${256 + int(r, 1000)}.1.2.3`,
    () => `${o[0]}..${o[2]}.${o[3]}`,
    () => `${o.join('.')}.`,
    () => `127.${pick(r, ['1', '0.1', '01', '00.1'])}`,
    () => String(4294967296 + int(r, 100)),
  ];
  const s = pick(r, forms)();
  return r() < 0.3 ? `${s}/${pick(r, [0, 8, 16, 24, 32])}` : s;
}

function v6Groups(r: Rng): number[] {
  return Array.from({ length: 8 }, () => pick(r, [0, 0, 0, 0xffff, 0x2001, 0xdb8, int(r, 0x10000), int(r, 16)]));
}

function v6(r: Rng): string {
  let g = v6Groups(r);
  const mask = pick(r, [undefined, 0, 16, 32, 48, 64, 96, 112, 128, int(r, 129), int(r, 129), 129, 200]);
  if (mask !== undefined && mask <= 128 && r() < 0.6) {
    g = g.map((x, i) => {
      const keep = Math.max(0, Math.min(16, mask - 16 * i));
      return x & ((0xffff << (16 - keep)) & 0xffff);
    });
  }
  const hex = g.map((x) => {
    const h = x.toString(16);
    return r() < 0.2 ? h.padStart(4, '0') : h;
  });
  let text: string;
  // Compress a random run of zero groups (or, sometimes wrongly, a run that is not all zero).
  const zeroStart = g.findIndex((x) => x === 0);
  if (r() < 0.7 && zeroStart >= 0) {
    let end = zeroStart;
    while (end < 8 && g[end] === 0) end++;
    if (r() < 0.1) end = Math.min(8, end + 1);
    text = `${hex.slice(0, zeroStart).join(':')}::${hex.slice(end).join(':')}`;
  } else {
    text = hex.join(':');
  }
  if (r() < 0.3) text = text.toUpperCase();
  if (r() < 0.1) text = `::ffff:${int(r, 256)}.${int(r, 256)}.0.${int(r, 256)}`;
  if (r() < 0.05) text = `::${int(r, 256)}.${int(r, 256)}.${int(r, 256)}.${int(r, 256)}`;
  if (r() < 0.05) text = `${text}%${pick(r, ['lo', 'eth0', '1'])}`;
  return mask === undefined ? text : `${text}/${mask}`;
}

function v6Odd(r: Rng): string {
  return pick(r, [
    () => ':::1',
    () => '1:2:3:4:5:6:7::8',
    () => '1:2:3:4:5:6:7:8:9',
    () => `1::2::3`,
    () => `${int(r, 0xfffff).toString(16).padStart(5, '0')}::1`,
    () => `::1:`,
    () => `:1::`,
    () => `1:2:3:4:5:6:1.2.3.4`,
    () => `1:2:3:4:5:6:7:1.2.3.4`,
    () => `::ffff:01.2.3.4`,
    () => `::ffff:1.2.3`,
    () => `::g`,
    () => `::`,
    () => `::/0`,
    () => `fe80::1%lo`,
    () => `[::1]`,
    () => `${'0'.repeat(4)}:`.repeat(7) + '0001/128',
  ])();
}

function junk(r: Rng): string {
  return pick(r, [
    '',
    ' ',
    ` 10.0.0.0/8`,
    `10.0.0.0/8 `,
    '10.0.0.0 /8',
    '10.0.0.0/',
    '/8',
    '10.0.0.0/8/8',
    '10.0.0.0/+8',
    '10.0.0.0/-0',
    '!10.0.0.0/8',
    '10.*',
    '*',
    'localhost',
    'example.com',
    '10.0.0.0/8\n',
    'a.b.c.d',
    'abc',
    'ffff',
    '1' + '0'.repeat(int(r, 60)),
    '127.0.0.1/' + '0'.repeat(int(r, 50)) + '8',
  ]);
}

/** One source-address entry from a random class. */
export function cidrEntry(r: Rng): string {
  const x = r();
  if (x < 0.3) return v4(r);
  if (x < 0.45) return v4Odd(r);
  if (x < 0.75) return v6(r);
  if (x < 0.87) return v6Odd(r);
  return junk(r);
}

/** Entries whose meaning for a client at 127.0.0.1 is worth a real login each. */
export const LOOPBACK_CASES = [
  '127.0.0.1',
  '127.0.0.1/32',
  '127.0.0.0/8',
  '127.0.0.1/8',
  '0.0.0.0/0',
  '127.0.0.0/0',
  '127.1',
  '0177.0.0.1',
  '2130706433',
  '127.0.0.01',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::/0',
  '127.0.0.1%lo',
  '127.0.0.0/08',
  '10.0.0.0/8',
] as const;
