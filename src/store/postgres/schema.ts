// The PostgreSQL schema, versioned in tctl_schema. Migrations run on first use, in one
// transaction under an advisory lock, so concurrent first uses migrate once; a database migrated
// by a newer tctl is refused rather than half understood.
import { TctlError } from '../../errors.js';

/** Advisory lock keys (two int4 form, visible in pg_locks as classid/objid): 'tctl' and which lock. */
export const LOCK_CLASS = 0x7463746c;
export const LOCK_CA = 1;
export const LOCK_MIGRATE = 2;

/**
 * Version n is MIGRATIONS[n - 1]. Each is applied once, in order; never edit one that shipped.
 * serial is numeric(20,0) because SSH serials are unsigned 64-bit (bigint is signed). Audit lines
 * are bytea: the chain covers bytes, and a line copied from a damaged log may not be UTF-8.
 * State, issuance and revocation records are text so they read back byte for byte as written.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tctl_state (id boolean PRIMARY KEY DEFAULT true CHECK (id), document text NOT NULL);
   CREATE TABLE tctl_keys (name text PRIMARY KEY, pem text NOT NULL);
   CREATE TABLE tctl_serial (id boolean PRIMARY KEY DEFAULT true CHECK (id),
     last numeric(20,0) NOT NULL CHECK (last >= 0 AND last <= 18446744073709551615));
   INSERT INTO tctl_serial (id, last) VALUES (true, 0);
   CREATE TABLE tctl_issuance (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, record text NOT NULL);
   CREATE TABLE tctl_revocations (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, identity text NOT NULL UNIQUE, record text NOT NULL);
   CREATE TABLE tctl_audit (n bigint PRIMARY KEY CHECK (n >= 1), line bytea NOT NULL);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export type Query = (sql: string, params?: unknown[]) => Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null }>;

async function storedVersion(q: Query): Promise<number> {
  const t = await q(`SELECT to_regclass('tctl_schema') IS NOT NULL AS present`);
  if (!t.rows[0]?.present) return 0;
  const v = await q('SELECT version FROM tctl_schema');
  return v.rows.length === 0 ? 0 : Number(v.rows[0]!.version);
}

function tooNew(where: string, version: number): TctlError {
  return new TctlError(`PostgreSQL backend ${where} has schema version ${version}; this tctl knows versions up to ${SCHEMA_VERSION}`, {
    hint: 'a newer tctl migrated it: use that release (or a newer one) here too',
  });
}

/** Brings the schema to SCHEMA_VERSION; a no-op (one query) when it is there already. */
export async function migrate(q: Query, where: string): Promise<void> {
  const seen = await storedVersion(q);
  if (seen > SCHEMA_VERSION) throw tooNew(where, seen);
  if (seen === SCHEMA_VERSION) return;
  await q('BEGIN');
  try {
    await q('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, LOCK_MIGRATE]);
    await q('CREATE TABLE IF NOT EXISTS tctl_schema (id boolean PRIMARY KEY DEFAULT true CHECK (id), version integer NOT NULL)');
    // Read again under the lock: another tctl may have migrated while we waited.
    const now = await storedVersion(q);
    if (now > SCHEMA_VERSION) throw tooNew(where, now);
    for (let v = now + 1; v <= SCHEMA_VERSION; v++) await q(MIGRATIONS[v - 1]!);
    await q('INSERT INTO tctl_schema (id, version) VALUES (true, $1) ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version', [SCHEMA_VERSION]);
    await q('COMMIT');
  } catch (err) {
    await q('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
