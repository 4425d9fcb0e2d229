// Copies one store into an empty other (Teleport's `teleport backend clone` is the model): the
// state document, every key, the serial counter, the issuance log, the revocations and the audit
// chain byte for byte, so the copy verifies as the original does. Both stores are locked
// throughout, so the copy is one consistent moment of the source. On PostgreSQL the copy is
// one transaction: a failure leaves the target empty. It is also the backup and restore path.
import { TctlError } from '../errors.js';
import type { Store, StoreReader } from './backend.js';
import type { IssuanceLine } from './issuance.js';

const BATCH = 5000;

export interface CloneSummary {
  keys: number;
  issuance: number;
  revocations: number;
  auditLines: number;
  lastSerial: bigint;
}

async function emptiness(r: StoreReader): Promise<string | undefined> {
  if ((await r.readState()) !== undefined) return 'it holds a CA';
  if ((await r.listKeys()).length > 0) return 'it holds keys';
  if ((await r.lastSerial()) !== 0n) return 'its serial counter has been used';
  for await (const _ of r.streamIssuance()) return 'it has issuance records';
  if ((await r.readRevocations()).length > 0) return 'it has revocations';
  for await (const _ of r.readAuditLines()) return 'it has an audit log';
  return undefined;
}

export async function cloneStore(from: Store, to: Store): Promise<CloneSummary> {
  if (from.kind === to.kind && from.describe() === to.describe()) throw new TctlError(`cannot clone ${from.describe()} into itself`);
  return from.withLock(async (src) => {
    const document = await src.readState();
    if (document === undefined) throw new TctlError(`${from.describe()} holds no CA to clone`, { hint: 'check --from' });
    return to.withLock(async (dst) => {
      const why = await emptiness(dst);
      if (why) throw new TctlError(`${to.describe()} is not empty: ${why}`, { hint: 'clone into an empty data dir or database; tctl never merges two CAs' });
      const summary: CloneSummary = { keys: 0, issuance: 0, revocations: 0, auditLines: 0, lastSerial: await src.lastSerial() };
      for (const name of await src.listKeys()) {
        await dst.putKey(name, await src.getKey(name), { overwrite: false });
        summary.keys++;
      }
      await dst.restoreSerialCounter(summary.lastSerial);
      let records: IssuanceLine[] = [];
      for await (const r of src.streamIssuance()) {
        records.push(r);
        if (records.length === BATCH) {
          await dst.appendIssuance(records);
          summary.issuance += records.length;
          records = [];
        }
      }
      await dst.appendIssuance(records);
      summary.issuance += records.length;
      summary.revocations = (await dst.addRevocations(await src.readRevocations())).length;
      let lines: Buffer[] = [];
      for await (const line of src.readAuditLines()) {
        if (line === 'too long') {
          throw new TctlError(`the audit log of ${from.describe()} has a line too long to copy`, { hint: 'run "tctl audit verify" on the source' });
        }
        lines.push(line);
        if (lines.length === BATCH) {
          await dst.restoreAuditLines(lines);
          summary.auditLines += lines.length;
          lines = [];
        }
      }
      await dst.restoreAuditLines(lines);
      summary.auditLines += lines.length;
      // Last: a state document is what makes a store initialised, so a data dir copy that
      // stopped half way is never taken for a CA.
      await dst.saveState(document);
      return summary;
    });
  });
}
