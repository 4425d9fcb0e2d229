// One line of a batch file: a JSON certificate request, checked like its command-line twin.
import { UsageError } from '../errors.js';
import { parseStrictJson } from '../formats/json.js';
import { PublicKeyInputError, parseOpenSshPublicKey } from '../formats/public-key.js';
import { parseDuration } from './duration.js';
import { checkPermits } from './extensions.js';
import type { Compat, Permit } from './extensions.js';
import { hasControlCharacters, splitList } from './principals.js';
import { checkRequest, checkWindow } from './request.js';
import { parseTime } from './validity.js';
import type { CertificateRequest } from './request.js';

const FIELDS = ['host', 'user', 'principals', 'ttl', 'public_key', 'out', 'force_command', 'source_address', 'permit', 'valid_after', 'valid_before'] as const;

export interface BatchRequest {
  request: CertificateRequest;
  /** file name (in the output dir) of the certificate, without -cert.pub */
  out: string;
  /** a force_command request without "permit": it lost the forwarding permissions by default */
  forceCommandDefaults: boolean;
}

/**
 * A string is a comma-separated list, exactly as the flag it mirrors (`--host=a,b`). An array
 * element is one name, never split: `["web1,db"]` is refused, as `--user=web1,db` is, instead of
 * becoming two names the writer of the line may not have meant.
 */
function list(field: string, v: unknown): string[] {
  if (typeof v === 'string') return splitList(`"${field}"`, v);
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v.map((x: string) => listElement(field, x));
  throw new UsageError(`"${field}" must be a non-empty string or array of strings`);
}

function listElement(field: string, name: string): string {
  if (name.trim() === '') throw new UsageError(`"${field}" has an empty entry`);
  if (name.includes(',')) {
    throw new UsageError(`invalid "${field}" entry ${JSON.stringify(name)}: must not contain "," (an array element is one name; write ${JSON.stringify(name.split(','))} for several)`);
  }
  if (name.trim() !== name) throw new UsageError(`invalid "${field}" entry ${JSON.stringify(name)}: leading or trailing whitespace`);
  return name;
}

function str(field: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new UsageError(`"${field}" must be a non-empty string`);
  return v;
}

/** "permit": exactly these (as --permit); [] or "none" for none; absent for the default. */
function permitField(v: unknown): Permit[] | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v) && v.length === 0) return [];
  return checkPermits('"permit"', list('permit', v));
}

/** Parses and checks one request line; throws a UsageError describing the problem. */
/** recheck=false: the line's key already passed the value check (pass 1 over the same spool bytes). */
export function parseBatchLine(line: string, compat: Compat, now: Date = new Date(), recheck = true): BatchRequest {
  const raw = parseStrictJson(line);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError('not a JSON object');
  const o = raw as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new UsageError(`unknown field "${unknown[0]}" (allowed: ${FIELDS.join(', ')})`);
  if ((o.host === undefined) === (o.user === undefined)) throw new UsageError('exactly one of "host" or "user" must be given');
  const publicKeyText = str('public_key', o.public_key);
  if (publicKeyText === undefined) throw new UsageError('"public_key" is required (an OpenSSH public key line)');
  let publicKey;
  try {
    publicKey = parseOpenSshPublicKey(publicKeyText, { checkValue: recheck });
  } catch (err) {
    if (err instanceof PublicKeyInputError) throw new UsageError(`"public_key": ${err.message}`);
    throw err;
  }
  const ttlText = str('ttl', o.ttl);
  const ttlSeconds = ttlText === undefined ? undefined : parseDuration('"ttl"', ttlText);
  const afterText = str('valid_after', o.valid_after);
  const beforeText = str('valid_before', o.valid_before);
  const window = {
    validAfter: afterText === undefined ? undefined : parseTime('"valid_after"', afterText),
    validBefore: beforeText === undefined ? undefined : parseTime('"valid_before"', beforeText),
  };
  let fields;
  if (o.host !== undefined) {
    if (o.principals !== undefined || o.force_command !== undefined || o.source_address !== undefined || o.permit !== undefined) {
      throw new UsageError('"principals", "force_command", "source_address" and "permit" apply to user requests only');
    }
    const principals = list('host', o.host);
    fields = checkRequest({ type: 'host' as const, principals, keyId: principals[0]!, ttlSeconds, ...window, compat });
  } else {
    const user = str('user', o.user)!;
    fields = checkRequest({
      type: 'user' as const,
      keyId: user,
      principals: o.principals === undefined ? [user] : list('principals', o.principals),
      ttlSeconds,
      ...window,
      compat,
      forceCommand: str('force_command', o.force_command),
      sourceAddress: o.source_address === undefined ? undefined : list('source_address', o.source_address),
      permits: permitField(o.permit),
    });
  }
  const out = str('out', o.out) ?? fields.keyId;
  if (out.includes('/') || out === '.' || out === '..' || hasControlCharacters(out)) {
    throw new UsageError(`"out" must be a plain file name, got ${JSON.stringify(out)}`);
  }
  checkWindow(fields, now);
  const forceCommandDefaults = fields.type === 'user' && fields.forceCommand !== undefined && o.permit === undefined;
  return { request: { ...fields, publicKey }, out, forceCommandDefaults };
}
