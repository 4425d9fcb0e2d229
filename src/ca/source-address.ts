// The source-address critical option. sshd checks its syntax with addr_match_cidr_list(NULL, list)
// when it reads the certificate and refuses the certificate outright if that fails, so an entry
// sshd does not accept gives a certificate that can never log in. sshdCidrList models that check
// (OpenSSH addrmatch.c / addr.c, with glibc's getaddrinfo); checkSourceAddresses accepts what it
// accepts, minus forms that mean something other than they seem, and writes each entry canonically.
import { UsageError } from '../errors.js';
import { formatIp, hostBitsZero, isDottedQuad, isV4Mapped, networkOf, parseNumericHost } from './ip.js';
import type { IpAddress } from './ip.js';

/** INET6_ADDRSTRLEN + 3: longer entries never reach the address parser. */
export const SSHD_MAX_ENTRY = 49;
/** sshd's VALID_CIDR_CHARS; anything else (space, "%zone", "!") makes the list invalid. */
const SSHD_CIDR_CHARS = /^[0-9a-fA-F.:/]*$/;
/** Our cap on entries: a source-address list is a short allow-list, not a routing table. */
export const MAX_SOURCE_ADDRESSES = 256;

export interface CidrEntry {
  addr: IpAddress;
  masklen: number;
  /** whether a "/bits" was written (a full-length mask is kept as written: 10.0.0.1/32 stays) */
  mask: boolean;
}

export type SshdVerdict = { ok: true; entries: CidrEntry[] } | { ok: false; entry: string; why: string };

const MASK_MAX = { 4: 32, 6: 128 } as const;

/** One entry as addr_pton_cidr reads it (OpenSSH 9.2 masks: digits only, at most 128 before the family check). */
function sshdEntry(entry: string): CidrEntry | string {
  if (entry === '') return 'empty entry';
  if (entry.length > SSHD_MAX_ENTRY) return `longer than ${SSHD_MAX_ENTRY} characters`;
  if (!SSHD_CIDR_CHARS.test(entry)) return 'invalid characters';
  const slash = entry.indexOf('/');
  const addrText = slash < 0 ? entry : entry.slice(0, slash);
  let masklen: number | undefined;
  if (slash >= 0) {
    const maskText = entry.slice(slash + 1);
    if (!/^[0-9]+$/.test(maskText) || Number(maskText) > 128) return 'invalid mask';
    masklen = Number(maskText);
  }
  const addr = parseNumericHost(addrText);
  if (!addr) return 'not an address';
  masklen ??= MASK_MAX[addr.family];
  if (masklen > MASK_MAX[addr.family]) return 'mask too long';
  if (!hostBitsZero(addr.bytes, masklen)) return 'host bits set';
  return { addr, masklen, mask: slash >= 0 };
}

/** Whether sshd accepts this source-address value, and the networks it reads from it. */
export function sshdCidrList(list: string): SshdVerdict {
  const entries: CidrEntry[] = [];
  for (const entry of list.split(',')) {
    const e = sshdEntry(entry);
    if (typeof e === 'string') return { ok: false, entry, why: e };
    entries.push(e);
  }
  return { ok: true, entries };
}

/** addr_netmatch over a list: an IPv4 client never matches an IPv6 entry (sshd un-maps ::ffff: clients first). */
export function cidrListMatches(entries: CidrEntry[], client: IpAddress): boolean {
  return entries.some((e) => e.addr.family === client.family && Buffer.from(networkOf(client.bytes, e.masklen)).equals(e.addr.bytes));
}

function canonical(e: CidrEntry): string {
  const text = formatIp(e.addr);
  return e.mask || e.masklen !== MASK_MAX[e.addr.family] ? `${text}/${e.masklen}` : text;
}

function refuse(entry: string, why: string, hint?: string): never {
  throw new UsageError(`invalid --source-address entry ${JSON.stringify(entry)}: ${why}`, hint ?? 'give IP addresses or CIDR blocks, e.g. 10.0.0.0/8,192.168.1.7,2001:db8::/32');
}

/** Checks one entry; returns it as it is written into the certificate. */
export function checkSourceAddress(entry: string): string {
  if (entry.includes('%')) {
    refuse(entry, 'zone ids ("%eth0") are not allowed', 'sshd compares client addresses without a zone; give the address alone');
  }
  const e = sshdEntry(entry);
  if (typeof e === 'string') {
    switch (e) {
      case 'empty entry':
        refuse(entry, 'empty');
      case 'invalid characters':
        refuse(entry, 'sshd accepts only digits, a-f, ".", ":" and "/" here (no spaces, names or wildcards)');
      case 'host bits set': {
        const slash = entry.indexOf('/');
        const addr = parseNumericHost(entry.slice(0, slash))!;
        const masklen = Number(entry.slice(slash + 1));
        const net = canonical({ addr: { family: addr.family, bytes: networkOf(addr.bytes, masklen) }, masklen, mask: true });
        refuse(entry, 'the address has bits set past the mask, so sshd rejects the certificate', `did you mean ${net}? (or the single address ${formatIp(addr)})`);
      }
      case 'mask too long':
      case 'invalid mask':
        refuse(entry, 'the mask must be a number from 0 to 32 (IPv4) or 128 (IPv6)');
      default:
        refuse(entry, `${e}; sshd would reject the certificate`);
    }
  }
  const addrText = entry.split('/')[0]!;
  if (e.addr.family === 4 && !isDottedQuad(addrText)) {
    // inet_aton: "010" is octal 8 and "10.1" is 10.0.0.1, which is rarely what was meant.
    refuse(entry, `sshd reads this as ${canonical(e)} (leading zeros are octal, missing parts are zero-filled)`, `write the address as four decimal numbers, e.g. ${canonical(e)}`);
  }
  if (e.addr.family === 6 && isV4Mapped(e.addr.bytes)) {
    const v4 = { addr: { family: 4 as const, bytes: e.addr.bytes.slice(12) }, masklen: Math.max(0, e.masklen - 96), mask: e.mask };
    refuse(entry, 'sshd matches IPv4 clients as IPv4 addresses, so an IPv4-mapped IPv6 entry never matches', `write ${canonical(v4)}`);
  }
  return canonical(e);
}

/** Checks a source-address list (one element per entry); returns the canonical entries, duplicates dropped. */
export function checkSourceAddresses(entries: string[]): string[] {
  if (entries.length === 0) throw new UsageError('--source-address is empty');
  if (entries.length > MAX_SOURCE_ADDRESSES) throw new UsageError(`too many --source-address entries: ${entries.length} (at most ${MAX_SOURCE_ADDRESSES})`);
  return [...new Set(entries.map(checkSourceAddress))];
}
