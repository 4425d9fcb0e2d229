// Subject names and subjectAltNames. Host names get the same validation as SSH host principals;
// whatever parses as an IP address becomes an iPAddress SAN (4 or 16 raw bytes, RFC 5280
// §4.2.1.6), never a dNSName, because TLS clients match IPs only against iPAddress entries.
import { TctlError } from '../errors.js';
import { checkHostPrincipals, hasControlCharacters } from '../ca/principals.js';
import { ipFamily, isV4Mapped, parseInet6 } from '../ca/ip.js';
import { type Asn1, directoryString, implicitPrimitive, oid, seq, set } from './forge.js';

/** X.520 ub-common-name (RFC 5280 Appendix A.1): longer CNs are refused by some parsers. */
export const MAX_COMMON_NAME = 64;

export const NAME_OID = { commonName: '2.5.4.3', organization: '2.5.4.10' } as const;

export interface AltNames {
  dnsNames: string[];
  /** textual form, as given (after lowercasing) */
  ipAddresses: string[];
}

/** Validates host names and splits them into DNS names and IPs, keeping first-seen order and dropping repeats. */
export function splitHosts(hosts: string[]): AltNames {
  const checked = checkHostPrincipals(hosts);
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const seenIps = new Set<string>();
  for (const host of checked) {
    if (ipFamily(host) === 0) {
      dnsNames.push(host);
      continue;
    }
    const key = ipBytes(host).toString('hex');
    if (!seenIps.has(key)) ipAddresses.push(host);
    seenIps.add(key);
  }
  return { dnsNames, ipAddresses };
}

/**
 * The bytes of an IP literal. An IPv4-mapped IPv6 address is written as 4 bytes, as Go does, so
 * `::ffff:10.0.0.5` and `10.0.0.5` name the same SAN. Zone ids (`fe80::1%eth0`) have no encoding.
 */
export function ipBytes(text: string): Buffer {
  const version = ipFamily(text);
  if (version === 4) return Buffer.from(text.split('.').map(Number));
  const bytes = version === 6 && !text.includes('%') ? parseInet6(text) : undefined;
  if (bytes === undefined) throw new TctlError(`invalid IP address "${text}"`);
  return Buffer.from(isV4Mapped(bytes) ? bytes.subarray(12) : bytes);
}

/** The text of an iPAddress SAN: dotted IPv4, or IPv6 with the longest zero run as `::` (RFC 5952). */
export function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) return `<${bytes.length}-byte address>`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

/** A common name: non-empty, no control characters, at most 64 characters. */
export function checkCommonName(cn: string): string {
  if (cn === '') throw new TctlError('the certificate common name is empty');
  if (hasControlCharacters(cn)) throw new TctlError(`invalid common name ${JSON.stringify(cn)}: contains control characters`);
  if ([...cn].length > MAX_COMMON_NAME) {
    throw new TctlError(`common name ${JSON.stringify(cn.slice(0, 40) + '...')} is longer than ${MAX_COMMON_NAME} characters (RFC 5280 ub-common-name)`);
  }
  return cn;
}

/** A Name with one RDN per attribute, in the order given (e.g. O then CN, as Go writes it). */
export function distinguishedName(attributes: { type: string; value: string }[]): Asn1 {
  return seq(attributes.map((a) => set([seq([oid(a.type), directoryString(a.value)])])));
}

/** GeneralNames: dNSName [2] IA5String, iPAddress [7] OCTET STRING. */
export function generalNames(names: AltNames): Asn1 {
  return seq([
    ...names.dnsNames.map((d) => implicitPrimitive(2, Buffer.from(d, 'ascii'))),
    ...names.ipAddresses.map((ip) => implicitPrimitive(7, ipBytes(ip))),
  ]);
}
