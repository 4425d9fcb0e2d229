// Generators of public keys that must never be certified, built by hand as SSH blobs, one class
// at a time, with fresh random values on every call (property-style tests draw many of each).
import { randomBytes, randomInt } from 'node:crypto';
import { generateKey } from '../../src/keys/generate.js';
import { sshPublicKey } from '../../src/ssh/keys.js';
import { SshReader, SshWriter } from '../../src/ssh/wire.js';

export const P25519 = 2n ** 255n - 19n;

/** The eight points of small order, canonically encoded (as listed by libsodium and in "Taming the many EdDSAs"). */
export const SMALL_ORDER_ED25519 = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity (0, 1)
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2 (0, -1)
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4 (sqrt(-1), 0)
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4 (-sqrt(-1), 0)
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
].map((h) => Buffer.from(h, 'hex'));

export const le32 = (v: bigint): Buffer => {
  const b = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return b;
};
export const yOf = (enc: Buffer): bigint => {
  let v = 0n;
  for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(enc[i]!);
  return v & ((1n << 255n) - 1n);
};

export const ed25519Blob = (a: Buffer): Buffer => new SshWriter().string('ssh-ed25519').string(a).toBuffer();

/** A small-order point in one of its encodings: canonical, y + p (when that fits), or with a sign bit on x = 0. */
export function smallOrderEncoding(): Buffer {
  const base = SMALL_ORDER_ED25519[randomInt(SMALL_ORDER_ED25519.length)]!;
  const y = yOf(base);
  const variants: Buffer[] = [base];
  if (y + P25519 < 2n ** 255n) variants.push(withSign(le32(y + P25519), base[31]! >> 7), withSign(le32(y + P25519), 1 - (base[31]! >> 7)));
  if (y === 1n || y === P25519 - 1n) variants.push(withSign(base, 1));
  return variants[randomInt(variants.length)]!;
}

function withSign(enc: Buffer, sign: number): Buffer {
  const b = Buffer.from(enc);
  b[31] = (b[31]! & 0x7f) | (sign << 7);
  return b;
}

/** Any y in [p, 2^255) with a random sign bit: never a canonical encoding. */
export function nonCanonicalEd25519(): Buffer {
  return withSign(le32(P25519 + BigInt(randomInt(19))), randomInt(2));
}

export interface EcCurveInfo {
  name: 'nistp256' | 'nistp384' | 'nistp521';
  node: 'P-256' | 'P-384' | 'P-521';
  bytes: number;
}
export const EC_CURVES: EcCurveInfo[] = [
  { name: 'nistp256', node: 'P-256', bytes: 32 },
  { name: 'nistp384', node: 'P-384', bytes: 48 },
  { name: 'nistp521', node: 'P-521', bytes: 66 },
];

export const ecdsaBlob = (curve: string, point: Buffer): Buffer => new SshWriter().string(`ecdsa-sha2-${curve}`).string(curve).string(point).toBuffer();

/** A real point of a fresh key with its y nudged by a random non-zero amount: off the curve (y = ±y' has only two roots). */
export function offCurvePoint(curve: EcCurveInfo): Buffer {
  const blob = sshPublicKey(generateKey({ type: 'ec', namedCurve: curve.node }).publicKey).blob;
  const r = new SshReader(blob);
  r.string();
  r.string();
  const point = Buffer.from(r.string());
  const y = point.subarray(1 + curve.bytes);
  const yv = BigInt('0x' + y.toString('hex'));
  // Keep below 2^(8*bytes) and avoid the one other root, p - y, by moving only a little.
  const moved = yv >= 1000n ? yv - BigInt(randomInt(1, 1000)) : yv + BigInt(randomInt(1, 1000));
  Buffer.from(moved.toString(16).padStart(curve.bytes * 2, '0'), 'hex').copy(y);
  return point;
}

const magnitude = (v: bigint): Buffer => {
  const h = v.toString(16);
  return Buffer.from(h.length % 2 ? '0' + h : h, 'hex');
};
export const rsaBlob = (e: bigint, n: bigint): Buffer => new SshWriter().string('ssh-rsa').mpint(magnitude(e)).mpint(magnitude(n)).toBuffer();

/** A random odd number of exactly this many bits (not a real modulus, which the checks cannot tell). */
export function oddOfBits(bits: number): bigint {
  const v = BigInt('0x' + randomBytes(Math.ceil(bits / 8)).toString('hex')) & ((1n << BigInt(bits)) - 1n);
  return v | (1n << BigInt(bits - 1)) | 1n;
}

/** A real 2048-bit modulus from a fresh key: only e is made bad. */
export function realModulus(): bigint {
  const blob = sshPublicKey(generateKey({ type: 'rsa', modulusLength: 2048 }).publicKey).blob;
  const r = new SshReader(blob);
  r.string();
  r.mpint();
  return BigInt('0x' + r.mpint().toString('hex'));
}

export type BadKeyClass = { name: string; reason: RegExp; make: () => Buffer };

/** One entry per class of key that must be refused; make() returns a fresh random instance. */
export function badKeyClasses(modulus: bigint): BadKeyClass[] {
  return [
    { name: 'ed25519 small order', reason: /ed25519 key is (a small-order point|not a valid point)/, make: () => ed25519Blob(smallOrderEncoding()) },
    { name: 'ed25519 non-canonical y', reason: /ed25519 key is not a valid point: its y coordinate is not reduced/, make: () => ed25519Blob(nonCanonicalEd25519()) },
    { name: 'ed25519 not on the curve', reason: /ed25519 key is not a point on the curve/, make: () => ed25519Blob(offCurveEd25519()) },
    ...EC_CURVES.map((c) => ({ name: `ecdsa ${c.name} off the curve`, reason: new RegExp(`ECDSA key is not a point on the ${c.name} curve`), make: () => ecdsaBlob(c.name, offCurvePoint(c)) })),
    { name: 'rsa e = 1 or 0', reason: /RSA public exponent [01] is not allowed \(must be odd, 3\.\.2\^32\): anyone could forge/, make: () => rsaBlob(BigInt(randomInt(2)), modulus) },
    { name: 'rsa even e', reason: /RSA public exponent \d+ is not allowed/, make: () => rsaBlob(2n * BigInt(randomInt(1, 2 ** 31)), modulus) },
    { name: 'rsa e > 2^32', reason: /RSA public exponent \d+ is not allowed/, make: () => rsaBlob(2n ** 32n + 1n + 2n * BigInt(randomInt(2 ** 40)), modulus) },
    { name: 'rsa even n', reason: /RSA modulus is even/, make: () => rsaBlob(65537n, oddOfBits(2048 + randomInt(2048)) - 1n) },
    { name: 'rsa n < 2048 bits', reason: /RSA key of \d+ bits is too small/, make: () => rsaBlob(65537n, oddOfBits(randomInt(512, 2048))) },
    { name: 'rsa n > 16384 bits', reason: /RSA key of \d+ bits is too large/, make: () => rsaBlob(65537n, oddOfBits(randomInt(16385, 17000))) },
  ];
}

/** Random y below p whose u/v has no square root: about half of all y; found by trying (checked with Euler's criterion). */
export function offCurveEd25519(): Buffer {
  for (;;) {
    const y = yOf(randomBytes(32));
    if (y >= P25519) continue;
    if (!ed25519IsOnCurve(y)) return withSign(le32(y), randomInt(2));
  }
}

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
export function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b = mod(b, m);
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
  }
  return r;
}
export const D25519 = mod(-121665n * modPow(121666n, P25519 - 2n, P25519), P25519);

/** Euler's criterion on u/v: an independent way to say whether y belongs to a curve point. */
export function ed25519IsOnCurve(y: bigint): boolean {
  const p = P25519;
  const u = mod(y * y - 1n, p);
  const v = mod(D25519 * y * y + 1n, p);
  const w = (u * modPow(v, p - 2n, p)) % p;
  return w === 0n || modPow(w, (p - 1n) / 2n, p) === 1n;
}
