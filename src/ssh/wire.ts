// SSH wire encoding (RFC 4251 §5): the only data types certificates, keys and KRLs use.

export class SshWriter {
  private chunks: Buffer[] = [];
  private size = 0;

  private push(b: Buffer): this {
    this.chunks.push(b);
    this.size += b.length;
    return this;
  }

  byte(v: number): this {
    return this.push(Buffer.from([v & 0xff]));
  }

  uint32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return this.push(b);
  }

  uint64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt.asUintN(64, v));
    return this.push(b);
  }

  /** A length-prefixed byte string. */
  string(v: Buffer | string): this {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    this.uint32(b.length);
    return this.push(b);
  }

  /** Raw bytes, no length prefix. */
  raw(b: Buffer): this {
    return this.push(b);
  }

  /** A non-negative multiple-precision integer from its unsigned big-endian magnitude. */
  mpint(magnitude: Buffer): this {
    let i = 0;
    while (i < magnitude.length && magnitude[i] === 0) i++;
    let m = magnitude.subarray(i);
    // RFC 4251: a set high bit would read as negative, so positive values get a zero byte.
    if (m.length > 0 && (m[0]! & 0x80) !== 0) m = Buffer.concat([Buffer.from([0]), m]);
    return this.string(m);
  }

  get length(): number {
    return this.size;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

export class WireFormatError extends Error {}

export class SshReader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (n < 0 || this.off + n > this.buf.length) {
      throw new WireFormatError('truncated data');
    }
  }

  byte(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }

  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }

  uint64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.off);
    this.off += 8;
    return v;
  }

  string(): Buffer {
    const n = this.uint32();
    this.need(n);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }

  text(): string {
    const b = this.string();
    const s = b.toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(b)) throw new WireFormatError('invalid UTF-8 string');
    return s;
  }

  /** An mpint as its unsigned magnitude; negative values are refused. */
  mpint(): Buffer {
    const b = this.string();
    if (b.length > 0 && (b[0]! & 0x80) !== 0) throw new WireFormatError('negative mpint');
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    return b.subarray(i);
  }

  raw(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }

  get offset(): number {
    return this.off;
  }

  get remaining(): number {
    return this.buf.length - this.off;
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.off);
    this.off = this.buf.length;
    return v;
  }

  end(): void {
    if (this.remaining !== 0) throw new WireFormatError(`${this.remaining} unexpected trailing bytes`);
  }
}
