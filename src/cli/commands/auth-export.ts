import { loadCurrentState, trustedKeyRecords } from '../../ca/authority.js';
import { UsageError, oneOf } from '../../errors.js';
import { authorizedKeysCaLine, defaultHostPatterns, knownHostsCaLine, trustedUserCaLine } from '../../formats/export.js';
import type { CaKeyRecord } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stdout } from '../output.js';

/** openssh is modern Teleport's name for the CA that sshd trusts: the user CA. */
export const EXPORT_TYPES = ['user', 'host', 'openssh'] as const;
export const EXPORT_FORMATS = ['openssh', 'authorized_keys'] as const;

export interface ExportOptions extends GlobalOptions {
  type?: string;
  fingerprint?: string;
  format?: string;
  hostPatterns?: string;
}

export async function authExport(opts: ExportOptions): Promise<void> {
  const type = opts.type === undefined ? undefined : oneOf('--type', opts.type, EXPORT_TYPES);
  const format = oneOf('--format', opts.format ?? 'openssh', EXPORT_FORMATS);
  if (format === 'authorized_keys' && type !== 'user' && type !== 'openssh') {
    throw new UsageError('--format=authorized_keys applies to --type=user only');
  }
  if (opts.fingerprint === '') throw new UsageError('--fingerprint is empty', 'give a fingerprint such as SHA256:... (see tctl status)');
  const patterns = opts.hostPatterns === undefined ? undefined : checkPatterns(opts.hostPatterns);
  const { dataDir } = await resolveContext(opts);
  const state = loadCurrentState(dataDir);
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
  if (lines.length > 0) stdout(lines.join('\n'));
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
