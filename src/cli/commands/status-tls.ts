// The TLS part of `tctl status`: each TLS CA's signing key, trusted certificates and their
// expiry, and the rotation (host and user share their SSH CA's). node:crypto only: status is
// polled by scripts and must not load the X.509 library.
import { X509Certificate, createHash } from 'node:crypto';
import { signingKeyRecord, trustedKeyRecords } from '../../ca/authority.js';
import { keyWhere, tlsFingerprintOf } from '../../ca/key-access.js';
import { TctlError } from '../../errors.js';
import { retiringKey } from '../../ca/inventory.js';
import { rotationStatus } from '../../rotation/rotate.js';
import { statePath } from '../../store/state.js';
import type { AuthorityOf, State, TlsKeyRecord } from '../../store/state.js';
import { TLS_CAS } from '../../x509/types.js';
import type { CaStore } from '../../store/ca-store.js';

/** What a rotation's end drops (SSH and TLS rows alike): the key and how many live certificates it still signed. */
export function retiringRow(r: { fingerprint: string; liveCertificates: number }): string {
  return `retiring ${r.fingerprint}: ${r.liveCertificates} live certificate${r.liveCertificates === 1 ? '' : 's'} (unexpired, unrevoked) still signed by it`;
}

function retiringOf(a: AuthorityOf<TlsKeyRecord>, live: ReadonlyMap<string, number>): { fingerprint: string; liveCertificates: number } | null {
  const key = retiringKey(a);
  return key === undefined ? null : { fingerprint: key.fingerprint, liveCertificates: live.get(key.fingerprint) ?? 0 };
}

const pinOf = (spki: Buffer) => `sha256:${createHash('sha256').update(spki).digest('hex')}`;

/** The CA certificate's expiry, after checking that the certificate and the private key are the key the pin names. */
function checkedExpiry(store: CaStore, r: TlsKeyRecord): string {
  const damaged = (what: string) => new TctlError(`${what} does not match ${statePath(store)} (expected ${r.fingerprint})`, { hint: 'restore the CA from a backup' });
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(r.certificate);
  } catch {
    throw damaged(`the TLS CA certificate of ${r.fingerprint}`);
  }
  if (pinOf(cert.publicKey.export({ type: 'spki', format: 'der' })) !== r.fingerprint) throw damaged(`the TLS CA certificate of ${r.fingerprint}`);
  return new Date(cert.validTo).toISOString();
}

/** `live`: how many live certificates each retiring key (by pin) still signed (status.ts counts them with the SSH ones). */
export function tlsStatus(store: CaStore, state: State, now: Date, live: ReadonlyMap<string, number>) {
  if (!state.tls) return null;
  return Object.fromEntries(
    TLS_CAS.flatMap((t) => {
      const a = state.tls![t];
      if (!a) return [];
      const signer = signingKeyRecord(a);
      const trusted = trustedKeyRecords(a).map((k) => ({ keyType: k.keyType, fingerprint: k.fingerprint, expires: checkedExpiry(store, k), key: keyWhere(store, k, tlsFingerprintOf) }));
      return [[t, {
        keyType: signer.keyType,
        fingerprint: signer.fingerprint,
        expires: trusted.find((k) => k.fingerprint === signer.fingerprint)!.expires,
        key: trusted.find((k) => k.fingerprint === signer.fingerprint)!.key,
        trusted,
        rotation: rotationStatus(a, now),
        retiring: retiringOf(a, live),
      }]];
    }),
  );
}

/** Text rows for `tctl status`, after the SSH CAs. */
export function tlsStatusRows(tls: ReturnType<typeof tlsStatus>): string[] {
  if (tls === null) return ['TLS CAs   none: run "tctl auth init" once to add them'];
  const rows: string[] = [];
  for (const [t, a] of Object.entries(tls)) {
    const name = `tls ${t.replace('_', '-')} CA`;
    rows.push(`${name.padEnd(17)} ${a.keyType.padEnd(10)} ${a.fingerprint}  (signs, expires ${a.expires})`);
    rows.push(`${''.padEnd(18)}key: ${a.key.text}`);
    for (const extra of a.trusted.filter((k) => k.fingerprint !== a.fingerprint)) {
      rows.push(`${''.padEnd(17)} ${extra.keyType.padEnd(10)} ${extra.fingerprint}  (also trusted, expires ${extra.expires})`);
    }
    const r = a.rotation;
    const indent = ''.padEnd(18);
    if (t === 'host' || t === 'user') rows.push(`${indent}rotation: with the ${t} CA (${r.phase})`);
    else if (r.damaged) rows.push(`${indent}rotation: ${r.phase}, schedule DAMAGED (ignored): ${r.damaged.join('; ')}`);
    else if (r.phase === 'standby') rows.push(`${indent}rotation: standby`);
    else {
      rows.push(`${indent}rotation: ${r.phase} (${r.mode}), started ${r.startedAt}${r.gracePeriod ? `, grace period ${r.gracePeriod}` : ''}`);
      if (r.nextPhase) rows.push(`${indent}next: ${r.nextPhase} at ${r.nextPhaseAt}`);
      rows.push(`${indent}to do: ${r.todo}`);
    }
    if (a.retiring) rows.push(`${indent}${retiringRow(a.retiring)}`);
  }
  return rows;
}
