// The few fixed DER structures node:crypto exports keys in (X.690 §8: definite lengths only):
// RSAPublicKey / RSAPrivateKey (RFC 8017 A.1), ECPrivateKey (RFC 5915 §3) and SPKI (RFC 5280
// §4.1). Key bytes come from DER, never from JWK: on Node 20 a JWK export right after
// generateKeyPairSync can hang the process (a KeyGenJob destructor run by GC inside the export).

export class DerError extends Error {}

export const TAG = { INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, OID: 0x06, SEQUENCE: 0x30 } as const;

export class DerReader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}

  /** The contents of the next element, which must have this tag. */
  element(tag: number): Buffer {
    const t = this.buf[this.off];
    if (t !== tag) throw new DerError(`expected DER tag 0x${tag.toString(16)}, found ${t === undefined ? 'the end' : `0x${t.toString(16)}`}`);
    let len = this.buf[this.off + 1];
    let at = this.off + 2;
    if (len === undefined) throw new DerError('truncated DER');
    if (len & 0x80) {
      const n = len & 0x7f;
      // Key structures are far below 2^32 bytes; 0x80 (indefinite) is not DER.
      if (n === 0 || n > 4 || at + n > this.buf.length) throw new DerError('bad DER length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + this.buf[at + i]!;
      at += n;
    }
    if (at + len > this.buf.length) throw new DerError('truncated DER');
    this.off = at + len;
    return this.buf.subarray(at, at + len);
  }

  /** A non-negative INTEGER as its unsigned big-endian magnitude (leading zeros dropped). */
  unsigned(): Buffer {
    const v = this.element(TAG.INTEGER);
    if (v.length === 0 || (v[0]! & 0x80) !== 0) throw new DerError('negative or empty DER integer');
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    return v.subarray(i);
  }

  /** The next element's tag, or undefined at the end. */
  peek(): number | undefined {
    return this.buf[this.off];
  }

  end(): void {
    if (this.off !== this.buf.length) throw new DerError('trailing bytes after DER structure');
  }
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function derElement(tag: number, contents: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(contents.length), contents]);
}

/** A non-negative INTEGER from its unsigned magnitude (a zero byte keeps a set high bit positive). */
export function derUnsigned(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  let m = magnitude.length === 0 ? Buffer.from([0]) : magnitude.subarray(i);
  if ((m[0]! & 0x80) !== 0) m = Buffer.concat([Buffer.from([0]), m]);
  return derElement(TAG.INTEGER, m);
}
