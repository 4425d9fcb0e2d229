// What may go into a certificate's principals and key id (STYLE habit 3: validate before signing).
import { domainToASCII } from 'node:url';
import { UsageError } from '../errors.js';
import { formatIp, ipFamily, parseInet6, parseInetAton } from './ip.js';

/** sshd caps principals per certificate (SSHKEY_CERT_MAX_PRINCIPALS). */
export const MAX_PRINCIPALS = 256;
const MAX_DNS_NAME = 253;
const MAX_USER_NAME = 256;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * Characters that change how a name looks without being visible: format characters (bidi
 * overrides such as U+202E, zero-width U+200B..U+200F, isolates U+2066..U+2069, U+FEFF), lone
 * surrogates, line and paragraph separators. "\u202eresu" prints as "user" in a log or a terminal.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
/** Whitespace at either end (Unicode spaces too): a name that differs from how it reads. */
const EDGE_SPACE = /^\s|\s$/u;

/** C0 and C1 control characters: never wanted in names, paths or one-line texts from users. */
export function hasControlCharacters(s: string): boolean {
  return CONTROL.test(s);
}

/** A name quoted for an error message, invisible characters spelled out so the message reads true. */
function describe(value: string): string {
  return JSON.stringify(value).replace(new RegExp(INVISIBLE.source, 'gu'), (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** Splits a comma-separated list, refusing empty entries such as `a,,b` or a trailing comma. */
export function splitList(flag: string, text: string): string[] {
  if (text.trim() === '') throw new UsageError(`${flag} is empty`);
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`${flag} has an empty entry in ${describe(text)}`, 'separate names with single commas, e.g. a.example.com,b.example.com');
  return parts;
}

/**
 * Checks a host principal: a DNS name (ASCII; IDNs as punycode) or an IP literal. ssh lowercases
 * the host name it connects to before matching principals, so names are lowercased here too.
 */
export function checkHostPrincipal(name: string): string {
  if (CONTROL.test(name) || /\s/.test(name)) throw new UsageError(`invalid host name ${describe(name)}: contains whitespace or control characters`);
  if (name.includes('*') || name.includes('?')) {
    throw new UsageError(`invalid host name ${describe(name)}: wildcards are not allowed in certificate principals`, 'OpenSSH matches host certificate principals literally; list each host name');
  }
  if (name.startsWith('[') && name.endsWith(']') && ipFamily(name.slice(1, -1)) === 6) {
    throw new UsageError(`invalid host name ${describe(name)}: give IPv6 addresses without brackets`);
  }
  if (name.includes('%')) {
    throw new UsageError(`invalid host name ${describe(name)}: zone ids ("%eth0") are not allowed`, 'a zone names an interface of one machine; give the address alone');
  }
  if (name.includes(':')) {
    // ssh compares the name the user typed with the principals literally, so an IPv6 principal
    // is written the one way tools print it (RFC 5952): 2001:db8::1, never 2001:0DB8:0:0::1.
    const v6 = parseInet6(name);
    if (!v6) throw new UsageError(`invalid host name ${describe(name)}: not a valid IPv6 address`);
    return formatIp({ family: 6, bytes: v6 });
  }
  if (ipFamily(name) === 4) return name;
  const v4 = /^[0-9.]+$/.test(name) ? parseInetAton(name) : undefined;
  if (v4) {
    // "010.0.0.1" is a host ssh would reach at 8.0.0.1 (inet_aton reads a leading 0 as octal)
    // while looking for the principal "010.0.0.1": there is no right way to rewrite it.
    const meant = formatIp({ family: 4, bytes: v4 });
    throw new UsageError(
      `invalid host name ${describe(name)}: ambiguous IPv4 address (ssh would connect to ${meant})`,
      'write IPv4 addresses as four decimal numbers without leading zeros, e.g. 10.0.0.1',
    );
  }
  if (/[^\x00-\x7f]/.test(name)) {
    const ascii = domainToASCII(name);
    throw new UsageError(`invalid host name ${describe(name)}: not ASCII`, ascii ? `use its punycode form ${ascii}` : 'use the punycode (xn--) form of the name');
  }
  if (name.length > MAX_DNS_NAME) throw new UsageError(`invalid host name ${describe(name.slice(0, 40) + '...')}: longer than ${MAX_DNS_NAME} characters`);
  const labels = name.split('.');
  for (const label of labels) {
    if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label)) {
      throw new UsageError(`invalid host name ${describe(name)}: not a valid DNS name or IP address`);
    }
  }
  // An all-numeric last label is no DNS name (RFC 3696 §2); it is a mistyped IP address.
  if (/^\d+$/.test(labels[labels.length - 1]!)) throw new UsageError(`invalid host name ${describe(name)}: not a valid DNS name or IP address`);
  return name.toLowerCase();
}

export function checkHostPrincipals(names: string[]): string[] {
  if (names.length === 0) throw new UsageError('no host names given');
  if (names.length > MAX_PRINCIPALS) throw new UsageError(`too many principals: ${names.length} (at most ${MAX_PRINCIPALS})`);
  return unique(names.map(checkHostPrincipal));
}

/** Checks a user name or user principal (an account name on the servers). */
export function checkUserPrincipal(what: string, name: string): string {
  if (name === '') throw new UsageError(`${what} is empty`);
  if (CONTROL.test(name)) throw new UsageError(`invalid ${what} ${describe(name)}: contains control characters`);
  if (INVISIBLE.test(name)) {
    const c = name.match(INVISIBLE)![0]!;
    const code = 'U+' + c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new UsageError(`invalid ${what} ${describe(name)}: contains the invisible character ${code}`, 'type the name again; invisible and bidi characters make a name read as another');
  }
  if (EDGE_SPACE.test(name)) throw new UsageError(`invalid ${what} ${describe(name)}: starts or ends with whitespace`);
  if (name.startsWith('-')) throw new UsageError(`invalid ${what} ${describe(name)}: must not start with "-"`);
  // A comma would smuggle extra principals into tools that split on it (sshd's AuthorizedPrincipals, Teleport).
  if (name.includes(',')) throw new UsageError(`invalid ${what} ${describe(name)}: must not contain ","`, 'give several principals as --principals=a,b');
  if (name.includes('/')) throw new UsageError(`invalid ${what} ${describe(name)}: must not contain "/"`);
  if (name.length > MAX_USER_NAME) throw new UsageError(`invalid ${what}: longer than ${MAX_USER_NAME} characters`);
  return name;
}

export function checkUserPrincipals(names: string[]): string[] {
  if (names.length === 0) throw new UsageError('no principals given');
  if (names.length > MAX_PRINCIPALS) throw new UsageError(`too many principals: ${names.length} (at most ${MAX_PRINCIPALS})`);
  return unique(names.map((n) => checkUserPrincipal('principal', n)));
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * A cluster name ends up in known_hosts patterns (`NAME,*.NAME`) and certificate extensions,
 * so it must be a plain DNS name.
 */
export function checkClusterName(name: string): string {
  if (name === '') throw new UsageError('--cluster-name is empty');
  try {
    const checked = checkHostPrincipal(name);
    if (ipFamily(checked) !== 0) throw new UsageError('an IP address');
    return checked;
  } catch {
    throw new UsageError(`invalid --cluster-name ${describe(name)}: must be a DNS name such as example.com`);
  }
}
