// tctl backend clone: copies the CA from one store into an empty other (Teleport's `teleport
// backend clone` is the model). Both ends are named explicitly, so a copy never goes to a store
// picked up from the environment by accident; it is also the backup and restore command.
import { UsageError } from '../../errors.js';
import type { Store } from '../../store/backend.js';
import { cloneStore } from '../../store/clone.js';
import { openStore } from '../../store/open.js';
import { parseLocation } from '../../store/select.js';
import { refuseRemoteFlags } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { stdout } from '../output.js';

export interface CloneOptions extends GlobalOptions {
  from?: string;
  to?: string;
}

export async function backendClone(opts: CloneOptions): Promise<void> {
  refuseRemoteFlags(opts);
  if (opts.from === undefined || opts.to === undefined) {
    throw new UsageError('--from and --to must both be given', 'e.g. tctl backend clone --from=/var/lib/tctl --to=postgresql://tctl@db.example.com/tctl');
  }
  if (opts.backend !== undefined || opts.dataDir !== undefined) {
    throw new UsageError('backend clone takes its stores from --from and --to only', 'drop --backend/--data-dir');
  }
  const from = parseLocation('--from', opts.from);
  const to = parseLocation('--to', opts.to);
  let source: Store | undefined;
  let target: Store | undefined;
  try {
    source = await openStore(from);
    if (!(await source.isInitialised())) throw new UsageError(`${source.describe()} holds no CA to clone`, 'check --from');
    // A data dir target is created (0700) when missing, as auth init would.
    target = await openStore(to, { create: true });
    const s = await cloneStore(source, target);
    stdout(
      `Cloned ${source.describe()} into ${target.describe()}: ${s.keys} key${s.keys === 1 ? '' : 's'}, ` +
        `${s.issuance} issued certificate record${s.issuance === 1 ? '' : 's'}, ${s.revocations} revocation${s.revocations === 1 ? '' : 's'}, ` +
        `${s.auditLines} audit entr${s.auditLines === 1 ? 'y' : 'ies'}, last serial ${s.lastSerial}.`,
    );
  } finally {
    await target?.close();
    await source?.close();
  }
}
