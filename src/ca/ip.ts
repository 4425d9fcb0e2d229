// IP literals the way OpenSSH sees them. sshd parses addresses with getaddrinfo(AI_NUMERICHOST),
// which on glibc means inet_aton for IPv4 (so "127.1" and octal "010.0.0.1" are addresses) and
// inet_pton for IPv6. These parsers follow those rules so tctl can tell what sshd will read.

export interface IpAddress {
  family: 4 | 6;
  /** 4 or 16 bytes, network order */
  bytes: Uint8Array;
}

/** The largest value of the last part of an inet_aton address with 1, 2, 3 or 4 parts. */
const ATON_LAST_PART_MAX = [0xffffffff, 0xffffff, 0xffff, 0xff];

/** strtoul(s, &end, 0) from index i, capped: values past 32 bits are refused by inet_aton anyway. */
function strtoulBase0(s: string, i: number): { value: number; end: number } {
  let base = 10;
  let j = i;
  if (s[j] === '0') {
    if ((s[j + 1] === 'x' || s[j + 1] === 'X') && /[0-9a-fA-F]/.test(s[j + 2] ?? '')) {
      base = 16;
      j += 2;
    } else {
      base = 8;
    }
  }
  let value = 0;
  for (; j < s.length; j++) {
    const d = parseInt(s[j]!, base);
    if (Number.isNaN(d)) break;
    value = Math.min(value * base + d, 2 ** 33);
  }
  return { value, end: j };
}

/**
 * glibc's inet_aton_exact: one to four parts separated by dots, each decimal, octal (leading 0)
 * or hex (0x); the last part fills the remaining bytes. Returns the address or undefined.
 */
export function parseInetAton(text: string): Uint8Array | undefined {
  const parts: number[] = [];
  let i = 0;
  for (;;) {
    if (!/[0-9]/.test(text[i] ?? '')) return undefined;
    const { value, end } = strtoulBase0(text, i);
    if (value > 0xffffffff) return undefined;
    i = end;
    if (text[i] === '.') {
      if (parts.length > 2 || value > 0xff) return undefined;
      parts.push(value);
      i++;
      continue;
    }
    if (i !== text.length) return undefined;
    if (value > ATON_LAST_PART_MAX[parts.length]!) return undefined;
    const out = new Uint8Array(4);
    parts.forEach((p, k) => (out[k] = p));
    for (let k = 3, v = value; k >= parts.length; k--, v = Math.floor(v / 256)) out[k] = v % 256;
    return out;
  }
}

/** The one IPv4 form nobody misreads: four decimal numbers 0-255 without leading zeros. */
export function isDottedQuad(text: string): boolean {
  return /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(text);
}

/** glibc's inet_pton(AF_INET6): at most one "::", groups of 1-4 hex digits, an optional dotted quad at the end. */
export function parseInet6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  let tp = 0;
  let gap = -1;
  let i = 0;
  if (text === '') return undefined;
  if (text[0] === ':') {
    if (text[1] !== ':') return undefined;
    i = 1;
  }
  let token = i;
  let digits = 0;
  let val = 0;
  while (i < text.length) {
    const ch = text[i++]!;
    const d = /[0-9a-fA-F]/.test(ch) ? parseInt(ch, 16) : -1;
    if (d >= 0) {
      if (digits === 4) return undefined;
      val = val * 16 + d;
      digits++;
      continue;
    }
    if (ch === ':') {
      token = i;
      if (digits === 0) {
        if (gap >= 0) return undefined;
        gap = tp;
        continue;
      }
      if (i === text.length || tp + 2 > 16) return undefined;
      out[tp++] = val >> 8;
      out[tp++] = val & 0xff;
      digits = 0;
      val = 0;
      continue;
    }
    // inet_pton's IPv4 tail is strict: four decimal parts, no leading zeros.
    if (ch === '.' && tp + 4 <= 16 && isDottedQuad(text.slice(token))) {
      for (const p of text.slice(token).split('.')) out[tp++] = Number(p);
      digits = 0;
      i = text.length;
      break;
    }
    return undefined;
  }
  if (digits > 0) {
    if (tp + 2 > 16) return undefined;
    out[tp++] = val >> 8;
    out[tp++] = val & 0xff;
  }
  if (gap >= 0) {
    // "::" must stand for at least one group.
    if (tp === 16) return undefined;
    const tail = out.slice(gap, tp);
    out.fill(0, gap);
    out.set(tail, 16 - tail.length);
    tp = 16;
  }
  return tp === 16 ? out : undefined;
}

/**
 * 4 or 6 for an IP literal written the way tools print them (a dotted quad without leading zeros,
 * or what inet_pton reads as IPv6, a zone id allowed), else 0: node:net's isIP, without loading
 * node:net (and with it the streams) on the way to signing a certificate.
 */
export function ipFamily(text: string): 0 | 4 | 6 {
  if (isDottedQuad(text)) return 4;
  const zone = text.indexOf('%');
  if (zone >= 0 && !/^[0-9a-zA-Z.:-]+$/.test(text.slice(zone + 1))) return 0;
  return parseInet6(zone < 0 ? text : text.slice(0, zone)) ? 6 : 0;
}

/** What getaddrinfo(AI_NUMERICHOST) makes of a string (no zone ids: sshd never lets one through). */
export function parseNumericHost(text: string): IpAddress | undefined {
  const v4 = parseInetAton(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseInet6(text);
  return v6 ? { family: 6, bytes: v6 } : undefined;
}

/** ::ffff:a.b.c.d — an IPv4 address in IPv6 clothing. */
export function isV4Mapped(bytes: Uint8Array): boolean {
  return bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * The canonical text of an address (RFC 5952: lowercase, no leading zeros, the longest run of two
 * or more zero groups as "::", the first such run on a tie; IPv4-mapped addresses end in a dotted quad).
 */
export function formatIp(addr: IpAddress): string {
  const b = addr.bytes;
  if (addr.family === 4) return Array.from(b).join('.');
  const groups = Array.from({ length: 8 }, (_, k) => (b[2 * k]! << 8) | b[2 * k + 1]!);
  if (isV4Mapped(b)) return `::ffff:${Array.from(b.subarray(12)).join('.')}`;
  let best = { start: -1, len: 0 };
  for (let k = 0; k < 8; ) {
    if (groups[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && groups[e] === 0) e++;
    if (e - k > best.len) best = { start: k, len: e - k };
    k = e;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.len < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}

/** Whether the bits of addr past the first masklen are all zero. */
export function hostBitsZero(bytes: Uint8Array, masklen: number): boolean {
  for (let bit = masklen; bit < bytes.length * 8; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) return false;
  }
  return true;
}

/** addr with every bit past masklen cleared. */
export function networkOf(bytes: Uint8Array, masklen: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let bit = masklen; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}
