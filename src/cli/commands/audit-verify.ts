import { TctlError } from '../../errors.js';
import { AUDIT_LOG, verifyChain } from '../../store/audit.js';
import { loadState } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stdout, stdoutJson } from '../output.js';

export interface AuditVerifyOptions extends GlobalOptions {
  json?: boolean;
}

export async function auditVerify(opts: AuditVerifyOptions): Promise<void> {
  const { store } = await resolveContext(opts);
  loadState(store);
  const v = verifyChain(store.auditLines());
  // A broken chain is still a verdict: the JSON says where, and the exit code says it failed.
  if (opts.json) stdoutJson(v.ok ? { file: AUDIT_LOG, intact: true, entries: v.lines } : { file: AUDIT_LOG, intact: false, intactEntries: (v.brokenLine ?? 1) - 1, brokenLine: v.brokenLine, reason: v.reason });
  if (!v.ok) {
    throw new TctlError(`${AUDIT_LOG} line ${v.brokenLine} breaks the chain: ${v.reason}`, {
      hint: `lines before ${v.brokenLine} are intact; compare the log with a backup`,
    });
  }
  if (!opts.json) stdout(`${AUDIT_LOG}: ${v.lines} entries, hash chain intact`);
}
