import { checkTrustedKeys, trustedKeyRecords } from '../../ca/ca-keys.js';
import { loadCurrentState } from '../../ca/schedule.js';
import { UsageError, oneOf } from '../../errors.js';
import { authorizedKeysCaLine, defaultHostPatterns, knownHostsCaLine, trustedUserCaLine } from '../../formats/export.js';
import { writeFileAtomic } from '../../store/files.js';
import type { CaKeyRecord, State } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { isTerminal, stdout, stdoutBytes } from '../output.js';
import type { CaStore } from '../../store/ca-store.js';

/**
 * openssh is modern Teleport's name for the CA that sshd trusts: the user CA. krl is the
 * revocation list. The rest are the TLS CAs' certificates (auth-export-tls.ts).
 */
export const EXPORT_TYPES = [
  'user', 'host', 'openssh', 'krl',
  'tls-host', 'tls', 'tls-user', 'tls-user-der', 'windows', 'db', 'db-der', 'db-client', 'db_client', 'db-client-der', 'db_client-der',
] as const;
const SSH_EXPORT_TYPES: readonly string[] = ['user', 'host', 'openssh', 'krl'];
export const EXPORT_FORMATS = ['openssh', 'authorized_keys'] as const;

export interface ExportOptions extends GlobalOptions {
  type?: string;
  fingerprint?: string;
  format?: string;
  hostPatterns?: string;
  out?: string;
}

export async function authExport(opts: ExportOptions): Promise<void> {
  const type = opts.type === undefined ? undefined : oneOf('--type', opts.type, EXPORT_TYPES);
  if (type !== undefined && !SSH_EXPORT_TYPES.includes(type)) {
    if (opts.format !== undefined || opts.hostPatterns !== undefined) throw new UsageError(`--format and --host-patterns do not apply to --type=${type}`);
    if (opts.fingerprint === '') throw new UsageError('--fingerprint is empty', 'give a CA pin such as sha256:... (see tctl status)');
    if (opts.out === '') throw new UsageError('--out is empty');
    const { store } = await resolveContext(opts);
    const { exportTls } = await import('./auth-export-tls.js');
    return exportTls(store, type, { fingerprint: opts.fingerprint, out: opts.out });
  }
  const format = oneOf('--format', opts.format ?? 'openssh', EXPORT_FORMATS);
  if (format === 'authorized_keys' && type !== 'user' && type !== 'openssh') {
    throw new UsageError('--format=authorized_keys applies to --type=user only');
  }
  if (opts.fingerprint === '') throw new UsageError('--fingerprint is empty', 'give a fingerprint such as SHA256:... (see tctl status)');
  const patterns = opts.hostPatterns === undefined ? undefined : checkPatterns(opts.hostPatterns);
  if (opts.out === '') throw new UsageError('--out is empty');
  const { store } = await resolveContext(opts);
  const state = loadCurrentState(store);
  if (type === 'krl') {
    if (opts.fingerprint !== undefined || opts.hostPatterns !== undefined || opts.format !== undefined) {
      throw new UsageError('--fingerprint, --format and --host-patterns do not apply to --type=krl');
    }
    return exportKrl(store, state, opts.out);
  }
  checkTrustedKeys(store, state, type === undefined ? ['host', 'user'] : type === 'host' ? ['host'] : ['user']);
  const wanted = (r: CaKeyRecord) => opts.fingerprint === undefined || r.fingerprint === opts.fingerprint;
  const lines: string[] = [];
  if (type === undefined || type === 'host') {
    const hostPatterns = patterns ?? defaultHostPatterns(state.clusterName);
    for (const r of trustedKeyRecords(state.authorities.host).filter(wanted)) lines.push(knownHostsCaLine(hostPatterns, r));
  }
  if (type !== 'host') {
    const line = format === 'authorized_keys' ? authorizedKeysCaLine : trustedUserCaLine;
    for (const r of trustedKeyRecords(state.authorities.user).filter(wanted)) lines.push(line(state.clusterName, r));
  }
  const text = lines.length > 0 ? lines.join('\n') + '\n' : '';
  if (opts.out !== undefined) writeFileAtomic(opts.out, text, { mode: 0o644, overwrite: true });
  else stdout(text);
}

/**
 * A KRL is binary and sshd's RevokedKeys needs a file: an empty list still gives a valid KRL,
 * because a missing RevokedKeys file makes sshd refuse every login.
 */
async function exportKrl(store: CaStore, state: State, out: string | undefined): Promise<void> {
  const { buildKrl } = await import('../../ca/revocation.js');
  if (out === undefined && isTerminal(1)) {
    throw new UsageError('refusing to write a binary KRL to a terminal', 'use -o FILE or redirect: tctl auth export --type=krl > revoked.krl');
  }
  const krl = buildKrl(state, store.scanRevocations(), new Date());
  if (out !== undefined) writeFileAtomic(out, krl, { mode: 0o644, overwrite: true });
  else stdoutBytes(krl);
}

/** known_hosts patterns: comma-separated, no whitespace (it would end the pattern field). */
function checkPatterns(text: string): string[] {
  if (text === '') throw new UsageError('--host-patterns is empty');
  const parts = text.split(',');
  for (const p of parts) {
    if (p === '' || /[\s\u0000-\u001f\u007f]/.test(p)) {
      throw new UsageError(`invalid --host-patterns "${text}"`, 'give comma-separated known_hosts patterns, e.g. *.example.com,10.0.0.*');
    }
  }
  return parts;
}
