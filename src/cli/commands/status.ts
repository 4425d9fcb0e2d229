import { signingKeyRecord, trustedKeyRecords } from '../../ca/authority.js';
import { CA_TYPES, loadState } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stdout } from '../output.js';

export interface StatusOptions extends GlobalOptions {
  json?: boolean;
}

export async function status(opts: StatusOptions): Promise<void> {
  const { dataDir } = await resolveContext(opts);
  const state = loadState(dataDir);
  const authorities = Object.fromEntries(
    CA_TYPES.map((t) => {
      const a = state.authorities[t];
      const signer = signingKeyRecord(a);
      return [
        t,
        {
          keyType: signer.keyType,
          fingerprint: signer.fingerprint,
          trusted: trustedKeyRecords(a).map((r) => ({ keyType: r.keyType, fingerprint: r.fingerprint })),
          rotation: { phase: a.rotation.phase },
        },
      ];
    }),
  );
  if (opts.json) {
    stdout(JSON.stringify({ clusterName: state.clusterName, dataDir, authorities }, null, 2));
    return;
  }
  const rows = [`Cluster   ${state.clusterName}`, `Data dir  ${dataDir}`];
  for (const t of CA_TYPES) {
    const a = authorities[t]!;
    rows.push(`${t} CA   ${a.keyType.padEnd(8)} ${a.fingerprint}  (rotation: ${a.rotation.phase})`);
    for (const extra of a.trusted.filter((k) => k.fingerprint !== a.fingerprint)) {
      rows.push(`          also trusted: ${extra.keyType.padEnd(8)} ${extra.fingerprint}`);
    }
  }
  stdout(rows.join('\n'));
}
