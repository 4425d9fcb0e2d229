import { TctlError } from '../../errors.js';
import { AUDIT_LOG, verifyAudit } from '../../store/audit.js';
import { loadState } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stdout } from '../output.js';

export async function auditVerify(opts: GlobalOptions): Promise<void> {
  const { dataDir } = await resolveContext(opts);
  loadState(dataDir);
  const v = verifyAudit(dataDir);
  if (!v.ok) {
    throw new TctlError(`${AUDIT_LOG} line ${v.brokenLine} breaks the chain: ${v.reason}`, {
      hint: `lines before ${v.brokenLine} are intact; compare the log with a backup`,
    });
  }
  stdout(`${AUDIT_LOG}: ${v.lines} entries, hash chain intact`);
}
