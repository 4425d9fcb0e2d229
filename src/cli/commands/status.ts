import { loadCurrentState, signingKeyRecord, trustedKeyRecords } from '../../ca/authority.js';
import { sshFingerprintOf } from '../../ca/ca-keys.js';
import { keyWhere } from '../../ca/key-access.js';
import { liveCertificateCounts, retiringKey } from '../../ca/inventory.js';
import { rotationStatus } from '../../rotation/rotate.js';
import { CA_TYPES, scheduleDamageError } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stdout } from '../output.js';

export interface StatusOptions extends GlobalOptions {
  json?: boolean;
}

export async function status(opts: StatusOptions): Promise<void> {
  const { store } = await resolveContext(opts);
  const now = new Date();
  const state = loadCurrentState(store, () => now, { allowDamagedSchedule: true });
  // "Ready" means able to sign: scripts poll status, so a damaged key must fail it (keyWhere opens each).
  // Only a rotation has a key to retire, so a CA at rest never reads the issuance log here.
  const retiring = Object.fromEntries(CA_TYPES.map((t) => [t, retiringKey(state.authorities[t])?.fingerprint]));
  const tlsRetiring = Object.values(state.tls ?? {}).flatMap((a) => retiringKey(a!)?.fingerprint ?? []);
  const live = liveCertificateCounts(store, [...Object.values(retiring).filter((f): f is string => f !== undefined), ...tlsRetiring], now);
  const authorities = Object.fromEntries(
    CA_TYPES.map((t) => {
      const a = state.authorities[t];
      const signer = signingKeyRecord(a);
      const trusted = trustedKeyRecords(a).map((k) => ({ keyType: k.keyType, fingerprint: k.fingerprint, key: keyWhere(store, k, sshFingerprintOf) }));
      return [
        t,
        {
          keyType: signer.keyType,
          fingerprint: signer.fingerprint,
          // The signer is among the trusted keys: each key is opened once.
          key: trusted.find((k) => k.fingerprint === signer.fingerprint)!.key,
          trusted,
          rotation: rotationStatus(a, now),
          retiring: retiring[t] === undefined ? null : { fingerprint: retiring[t], liveCertificates: live.get(retiring[t]!) ?? 0 },
        },
      ];
    }),
  );
  const { retiringRow, tlsStatus, tlsStatusRows } = await import('./status-tls.js');
  const tls = tlsStatus(store, state, now, live);
  if (opts.json) {
    const storage = store.kind === 'dir' ? { dataDir: store.where } : { backend: { type: store.kind, url: store.where } };
    stdout(JSON.stringify({ clusterName: state.clusterName, ...storage, authorities, tls }, null, 2));
    const damage = scheduleDamageError(store, state);
    if (damage) throw damage;
    return;
  }
  const rows = [`Cluster   ${state.clusterName}`, store.kind === 'dir' ? `Data dir  ${store.where}` : `Backend   PostgreSQL ${store.where}`];
  for (const t of CA_TYPES) {
    const a = authorities[t]!;
    rows.push(`${t} CA   ${a.keyType.padEnd(8)} ${a.fingerprint}  (signs)`);
    rows.push(`          key: ${a.key.text}`);
    for (const extra of a.trusted.filter((k) => k.fingerprint !== a.fingerprint)) {
      rows.push(`          ${extra.keyType.padEnd(8)} ${extra.fingerprint}  (also trusted)`);
    }
    const r = a.rotation;
    if (r.damaged) {
      rows.push(`          rotation: ${r.phase}, schedule DAMAGED (ignored): ${r.damaged.join('; ')}`);
    } else if (r.phase === 'standby') {
      rows.push('          rotation: standby');
    } else {
      rows.push(`          rotation: ${r.phase} (${r.mode}), started ${r.startedAt}${r.gracePeriod ? `, grace period ${r.gracePeriod}` : ''}`);
      if (r.nextPhase) rows.push(`          next: ${r.nextPhase} at ${r.nextPhaseAt}`);
      rows.push(`          to do: ${r.todo}`);
      if (a.retiring) rows.push(`          ${retiringRow(a.retiring)}`);
    }
  }
  rows.push(...tlsStatusRows(tls));
  stdout(rows.join('\n'));
  // Shown above, and still a failure: scripts poll status to know the CA can sign, and it cannot.
  const damage = scheduleDamageError(store, state);
  if (damage) throw damage;
}
