// What may go into a certificate's principals and key id (STYLE habit 3: validate before signing).
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { UsageError } from '../errors.js';

/** sshd caps principals per certificate (SSHKEY_CERT_MAX_PRINCIPALS). */
export const MAX_PRINCIPALS = 256;
const MAX_DNS_NAME = 253;
const MAX_USER_NAME = 256;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** C0 and C1 control characters: never wanted in names, paths or one-line texts from users. */
export function hasControlCharacters(s: string): boolean {
  return CONTROL.test(s);
}

function describe(value: string): string {
  return JSON.stringify(value);
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
  if (name.startsWith('[') && name.endsWith(']') && isIP(name.slice(1, -1)) === 6) {
    throw new UsageError(`invalid host name ${describe(name)}: give IPv6 addresses without brackets`);
  }
  if (isIP(name) !== 0) return name.toLowerCase();
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
    if (isIP(checked) !== 0) throw new UsageError('an IP address');
    return checked;
  } catch {
    throw new UsageError(`invalid --cluster-name ${describe(name)}: must be a DNS name such as example.com`);
  }
}
