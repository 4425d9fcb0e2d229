// Whether the numbers inside a well-formed SSH public key make a key that only its owner can
// sign for. A blob can parse perfectly and still be worthless: RSA with e = 1 (the signature
// is the message), an ed25519 small-order point (one signature verifies for every message), an
// ECDSA "point" off its curve. OpenSSH checks only some of this (sshkey_ec_validate_public;
// nothing for ed25519 or the RSA exponent), node:crypto accepts any 32 bytes as ed25519, so
// the checks are ours. BigInt arithmetic: no secrets are involved, so timing does not matter.
import { SshReader, WireFormatError } from './wire.js';

/** RSA moduli we accept: NIST's floor, and OpenSSH's ceiling (SSHBUF_MAX_BIGNUM, 16384 bits). */
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 16384;
/** Go's x/crypto/ssh model: odd, at least 3, and small enough that verification stays cheap. */
const RSA_MAX_EXPONENT = 2n ** 32n;

const FORGEABLE = 'anyone could forge signatures for this key';

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

const bigEndian = (b: Buffer): bigint => (b.length === 0 ? 0n : BigInt('0x' + b.toString('hex')));

/** Bits in an unsigned big-endian magnitude without leading zero bytes (as SshReader.mpint returns it). */
function bitLength(m: Buffer): number {
  return m.length === 0 ? 0 : (m.length - 1) * 8 + (32 - Math.clz32(m[0]!));
}

function rsaProblem(exponent: Buffer, n: Buffer): string | undefined {
  // A 3072-bit modulus never needs to become a BigInt: parity and size come from its bytes.
  const e = exponent.length > 5 ? RSA_MAX_EXPONENT + 1n : bigEndian(exponent);
  if (e < 3n || e % 2n === 0n || e > RSA_MAX_EXPONENT) {
    const why = e < 2n ? FORGEABLE : e % 2n === 0n ? 'no RSA private key has an even exponent, so this key is not genuine' : 'strict SSH implementations (Go x/crypto/ssh) refuse it';
    const shown = exponent.length > 8 ? `of ${bitLength(exponent)} bits` : String(bigEndian(exponent));
    return `RSA public exponent ${shown} is not allowed (must be odd, 3..2^32): ${why}`;
  }
  if (n.length === 0 || (n[n.length - 1]! & 1) === 0) return `RSA modulus is even: it is not a product of two large primes, so ${FORGEABLE}`;
  const bits = bitLength(n);
  if (bits < RSA_MIN_BITS) return `RSA key of ${bits} bits is too small (must be ${RSA_MIN_BITS}..${RSA_MAX_BITS} bits)`;
  if (bits > RSA_MAX_BITS) return `RSA key of ${bits} bits is too large (must be ${RSA_MIN_BITS}..${RSA_MAX_BITS} bits): OpenSSH refuses such keys and certificates`;
  return undefined;
}

// Ed25519 (RFC 8032 §5.1): -x^2 + y^2 = 1 + d x^2 y^2 over p = 2^255 - 19, d = -121665/121666.
const P25519 = 2n ** 255n - 19n;
// -121665/121666 mod p, written out: computing the inverse at load time cost every command that
// reads a key ~0.3 ms (test/unit/key-values.test.ts checks the value).
export const D25519 = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;

/** The Jacobi symbol (a/n) for odd n > 0: 1, -1 or 0. For prime n it says whether a is a square mod n. */
function jacobi(a: bigint, n: bigint): number {
  let t = 1;
  a = mod(a, n);
  while (a !== 0n) {
    while ((a & 1n) === 0n) {
      a >>= 1n;
      const r = n & 7n;
      if (r === 3n || r === 5n) t = -t;
    }
    [a, n] = [n, a];
    if ((a & 3n) === 3n && (n & 3n) === 3n) t = -t;
    a %= n;
  }
  return n === 1n ? t : 0;
}

/**
 * Decides what RFC 8032 §5.1.3 decoding decides, without computing x (a 252-bit exponentiation
 * that would cost more than signing the certificate): y must be below p; x^2 = u/v with
 * u = y^2 - 1, v = d y^2 + 1 must have a root (v is never 0: -1/d is not a square), which holds
 * exactly when u·v is a square; x = 0 (u = 0) must not carry the sign bit. Then small order:
 * 8·P is the identity exactly when P is (0, 1), (0, -1), (±sqrt(-1), 0) (y^2 ∈ {0, 1}), or one
 * of the four points of order 8, whose double has y = 0 — the doubling law gives
 * y(2P) = (y^2 + x^2)/(2 + x^2 - y^2), so x^2 = -y^2, i.e. d y^4 + 2 y^2 - 1 = 0.
 */
function ed25519Problem(enc: Buffer): string | undefined {
  const p = P25519;
  const sign = enc[31]! >> 7;
  const y = bigEndian(Buffer.from(enc).reverse()) & ((1n << 255n) - 1n);
  if (y >= p) return 'ed25519 key is not a valid point: its y coordinate is not reduced modulo 2^255-19 (RFC 8032 §5.1.3)';
  const yy = (y * y) % p;
  const u = mod(yy - 1n, p);
  const v = (D25519 * yy + 1n) % p;
  if (jacobi(u * v, p) === -1) return 'ed25519 key is not a point on the curve (RFC 8032 §5.1.3)';
  if (u === 0n && sign === 1) return 'ed25519 key is not a valid point: x is 0 but its sign bit is set (RFC 8032 §5.1.3)';
  if (yy === 0n || yy === 1n || (((D25519 * yy) % p) * yy + 2n * yy - 1n) % p === 0n) {
    return `ed25519 key is a small-order point: one signature verifies for every message, so ${FORGEABLE}`;
  }
  return undefined;
}

// NIST prime curves (FIPS 186-4 D.1.2, SEC 2): y^2 = x^3 - 3x + b over F_p, cofactor 1, so any
// point on the curve other than infinity generates the whole group.
const EC_CURVES: Record<string, { p: bigint; b: bigint; bytes: number }> = {
  nistp256: {
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    bytes: 32,
  },
  nistp384: {
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    bytes: 48,
  },
  nistp521: {
    p: 2n ** 521n - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
    bytes: 66,
  },
};

function ecdsaProblem(curveName: string, point: Buffer): string | undefined {
  const curve = EC_CURVES[curveName];
  if (!curve) return `ECDSA curve ${curveName} is not supported (nistp256, nistp384, nistp521)`;
  if (point.length === 1 && point[0] === 0) return `ECDSA key is the point at infinity: ${FORGEABLE}`;
  if (point.length !== 1 + 2 * curve.bytes || point[0] !== 4) return `ECDSA key is not an uncompressed ${curveName} point`;
  const { p, b } = curve;
  const x = bigEndian(point.subarray(1, 1 + curve.bytes));
  const y = bigEndian(point.subarray(1 + curve.bytes));
  if (x >= p || y >= p || (y * y) % p !== mod(x * x * x - 3n * x + b, p)) {
    return `ECDSA key is not a point on the ${curveName} curve: signatures checked against it prove nothing`;
  }
  return undefined;
}

/**
 * Why the key in a well-formed public-key blob must not be certified or trusted, or undefined
 * when it is sound. Structure (lengths, encodings) is parsePublicKeyBlob's job; this judges values.
 */
export function publicKeyValueProblem(blob: Buffer): string | undefined {
  const r = new SshReader(blob);
  try {
    const type = r.text();
    if (type === 'ssh-rsa') {
      const e = r.mpint();
      return rsaProblem(e, r.mpint());
    }
    if (type === 'ssh-ed25519') {
      const a = r.string();
      return a.length === 32 ? ed25519Problem(a) : 'ed25519 key is not 32 bytes';
    }
    if (type.startsWith('ecdsa-sha2-')) return ecdsaProblem(r.text(), r.string());
    return `unsupported key type ${type}`;
  } catch (err) {
    if (err instanceof WireFormatError) return `malformed public key: ${err.message}`;
    throw err;
  }
}
