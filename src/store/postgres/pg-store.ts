// PostgreSQL as a Store: one connection per command. withLock holds a session-level advisory
// lock for the whole command and runs it as one transaction, committed at each checkpoint() and
// when fn returns, rolled back when fn throws (or the client dies). The lock is session-level, not transaction-level, because a signing command must
// commit its serials and issuance rows before it hands certificate files out (checkpoint) and
// still hold the lock afterwards, so no other command slips in between. The server releases the
// lock and rolls back the open transaction the moment the client's connection ends, however it
// ends (exit, SIGKILL, lost network), so there is nothing stale to break.
import type { Client, QueryResult } from 'pg';
import { TctlError } from '../../errors.js';
import { MAX_AUDIT_LINE_BYTES, auditLineAfter } from '../audit.js';
import type { AuditEvent, AuditLineBytes } from '../audit.js';
import { MAX_DOCUMENT_BYTES, MAX_SERIAL, checkDocumentSize, checkKeyName, checkReservation } from '../backend.js';
import type { Store, StoreTx } from '../backend.js';
import type { IssuanceLine } from '../issuance.js';
import { revocationKey } from '../revocations.js';
import type { RevocationRecord } from '../revocations.js';
import { isConnectionError, pgError } from './errors.js';
import type { PgPhase } from './errors.js';
import { LOCK_CA, LOCK_CLASS, migrate } from './schema.js';
import { displayUrl, parsePostgresUrl, tlsOptions } from './url.js';

const PAGE = 1000;
const LOCK_WAIT = '30s';
/**
 * The largest value read from a row, as the data dir caps its files and lines: a row past it is
 * refused by the server's own length check, so it never crosses the wire into memory.
 */
const MAX_ROW_VALUE_BYTES = { document: MAX_DOCUMENT_BYTES, record: 1024 * 1024 } as const;

/** Connects, migrates the schema if needed, and returns the store; every failure is one TctlError. */
export async function openPostgresStore(url: string): Promise<PostgresStore> {
  const u = parsePostgresUrl(url);
  const ssl = tlsOptions(u);
  // Loaded here only: the data dir's start-up never pays for the driver.
  const pg = (await import('pg')).default;
  const client = new pg.Client({
    host: u.host,
    port: u.port,
    user: u.user,
    password: u.password,
    database: u.database,
    ssl,
    application_name: u.applicationName,
    connectionTimeoutMillis: u.connectTimeoutSeconds * 1000,
    keepAlive: true,
  });
  const store = new PostgresStore(client, u.password, displayUrl({ user: client.user, host: client.host, port: client.port, database: client.database, sslmode: u.sslmode }));
  await store.connect();
  return store;
}

export class PostgresStore implements Store {
  readonly kind = 'postgresql' as const;
  /** Set once the connection is unusable: every later call throws it. */
  private broken: TctlError | undefined;
  private locked = false;

  constructor(
    private readonly client: Client,
    private readonly password: string | undefined,
    readonly where: string,
  ) {
    // An idle connection that dies emits 'error'; unhandled, it would crash the process.
    client.on('error', (err) => {
      this.broken ??= pgError(err, where, 'read', password);
    });
  }

  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (err) {
      throw (this.broken = pgError(err, this.where, 'connect', this.password));
    }
    await this.q(`SET lock_timeout = '${LOCK_WAIT}'`, [], 'connect');
    await migrate((sql, params) => this.q(sql, params, 'connect'), this.where);
  }

  describe(): string {
    return `PostgreSQL ${this.where}`;
  }

  keyLocation(name: string): string {
    return `${name} in PostgreSQL ${this.where}`;
  }

  private async q(sql: string, params: unknown[] = [], phase: PgPhase = 'read'): Promise<QueryResult> {
    if (this.broken) throw this.broken;
    try {
      return await this.client.query(sql, params);
    } catch (err) {
      const e = pgError(err, this.where, phase, this.password);
      if (isConnectionError(err)) this.broken = e;
      throw e;
    }
  }

  async isInitialised(): Promise<boolean> {
    return (await this.q('SELECT 1 FROM tctl_state')).rows.length > 0;
  }

  async readState(): Promise<string | undefined> {
    const r = await this.q(`SELECT ${capped('document', 1)} FROM tctl_state`, [MAX_ROW_VALUE_BYTES.document]);
    return r.rows.length === 0 ? undefined : this.cappedValue(r.rows[0]!, 'the state document', MAX_ROW_VALUE_BYTES.document);
  }

  /** A capped() column's value, or the damage it is: one line, no value held in memory. */
  private cappedValue(row: Record<string, unknown>, what: string, cap: number): string {
    if (row.value === null) {
      throw new TctlError(`PostgreSQL backend ${this.where} is damaged: ${what} is ${String(row.size)} bytes (at most ${cap})`, { hint: 'restore it from a backup ("tctl backend clone")' });
    }
    return row.value as string;
  }

  async *streamIssuance(): AsyncGenerator<IssuanceLine> {
    // Keyset pages, so memory stays flat however long the log is.
    for (let after = '0'; ; ) {
      const r = await this.q(`SELECT seq, ${capped('record', 3)} FROM tctl_issuance WHERE seq > $1 ORDER BY seq LIMIT $2`, [after, PAGE, MAX_ROW_VALUE_BYTES.record]);
      for (const row of r.rows) {
        const what = `issuance row ${row.seq}`;
        yield parseRecord<IssuanceLine>(this.cappedValue(row, what, MAX_ROW_VALUE_BYTES.record), what, this.where);
      }
      if (r.rows.length < PAGE) return;
      after = r.rows.at(-1)!.seq as string;
    }
  }

  async readRevocations(): Promise<RevocationRecord[]> {
    const r = await this.q(`SELECT seq, ${capped('record', 1)} FROM tctl_revocations ORDER BY seq`, [MAX_ROW_VALUE_BYTES.record]);
    return r.rows.map((row) => {
      const what = `revocation row ${row.seq}`;
      return parseRecord<RevocationRecord>(this.cappedValue(row, what, MAX_ROW_VALUE_BYTES.record), what, this.where);
    });
  }

  async *readAuditLines(): AsyncGenerator<AuditLineBytes> {
    for (let after = '0'; ; ) {
      const r = await this.q(`SELECT n, ${capped('line', 3)} FROM tctl_audit WHERE n > $1 ORDER BY n LIMIT $2`, [after, PAGE, MAX_AUDIT_LINE_BYTES]);
      for (const row of r.rows) {
        const line = row.value as Buffer | null;
        if (line === null || line.includes(0x0a)) {
          yield 'too long';
          return;
        }
        yield line;
      }
      if (r.rows.length < PAGE) return;
      after = r.rows.at(-1)!.n as string;
    }
  }

  async getKey(name: string): Promise<string> {
    checkKeyName(name);
    const r = await this.q(`SELECT ${capped('pem', 2)} FROM tctl_keys WHERE name = $1`, [name, MAX_ROW_VALUE_BYTES.document]);
    if (r.rows.length === 0) throw new TctlError(`cannot read CA key ${this.keyLocation(name)}: no such key`, { hint: 'restore the backend from a backup ("tctl backend clone")' });
    return this.cappedValue(r.rows[0]!, `CA key ${name}`, MAX_ROW_VALUE_BYTES.document);
  }

  async listKeys(): Promise<string[]> {
    const r = await this.q('SELECT name FROM tctl_keys ORDER BY name COLLATE "C"');
    return r.rows.map((row) => row.name as string);
  }

  async lastSerial(): Promise<bigint> {
    const r = await this.q('SELECT last::text AS last FROM tctl_serial');
    if (r.rows.length === 0) throw new TctlError(`PostgreSQL backend ${this.where} is damaged: the serial counter row is missing`);
    return BigInt(r.rows[0]!.last as string);
  }

  async withLock<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.locked) throw new Error('PostgresStore.withLock: already held by this store');
    this.locked = true;
    try {
      await this.acquire();
      let open = true;
      let settled = false;
      let failed: TctlError | undefined;
      try {
        await this.q('BEGIN', [], 'transaction');
        const tx = this.transaction(
          () => open,
          (e) => (failed ??= e),
          () => (failed = undefined),
        );
        let result: T;
        try {
          result = await fn(tx);
        } finally {
          open = false;
        }
        if (this.broken) throw this.broken;
        // fn went on after a refused statement: the server has aborted the transaction.
        if (failed) throw failed;
        await this.q('COMMIT', [], 'commit');
        settled = true;
        return result;
      } finally {
        open = false;
        if (!this.broken) {
          if (!settled) await this.client.query('ROLLBACK').catch(() => undefined);
          await this.client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, LOCK_CA]).catch(() => undefined);
        }
      }
    } finally {
      this.locked = false;
    }
  }

  private async acquire(): Promise<void> {
    if (this.broken) throw this.broken;
    try {
      await this.client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS, LOCK_CA]);
    } catch (err) {
      if ((err as { code?: string }).code !== '55P03') {
        const e = pgError(err, this.where, 'connect', this.password);
        if (isConnectionError(err)) this.broken = e;
        throw e;
      }
      const holder = await this.client
        .query(
          `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.granted LIMIT 1`,
          [LOCK_CLASS, LOCK_CA],
        )
        .then((r) => (r.rows[0]?.application_name as string | undefined) || undefined, () => undefined);
      throw new TctlError(`PostgreSQL backend ${this.where} is locked by ${holder ? `"${holder}"` : 'another session'}`, {
        hint: 'another tctl is still working on it; the lock is released the moment that process ends or loses its connection',
      });
    }
  }

  async close(): Promise<void> {
    try {
      await this.client.end();
    } catch {
      // already gone; nothing is open that the server does not roll back
    }
  }

  private transaction(isOpen: () => boolean, onFail: (e: TctlError) => void, clearFail: () => void): StoreTx {
    const q = async (sql: string, params: unknown[] = [], phase: PgPhase = 'transaction') => {
      if (!isOpen()) throw new Error('storage transaction used after its withLock ended');
      try {
        return await this.q(sql, params, phase);
      } catch (err) {
        if (err instanceof TctlError) onFail(err);
        throw err;
      }
    };
    const where = this.where;
    const initialised = () => this.isInitialised();
    const lastAudit = async () => {
      // A last line longer than any entry is damage that verify reports; chain onto its tail, as the data dir does.
      const r = await q('SELECT n, CASE WHEN octet_length(line) <= $1 THEN line ELSE substring(line FROM octet_length(line) - $1 + 1) END AS line FROM tctl_audit ORDER BY n DESC LIMIT 1', [MAX_AUDIT_LINE_BYTES]);
      return r.rows.length === 0 ? { n: 0n, line: undefined } : { n: BigInt(r.rows[0]!.n as string), line: r.rows[0]!.line as Buffer };
    };
    return {
      readState: () => this.readState(),
      streamIssuance: () => this.streamIssuance(),
      readRevocations: () => this.readRevocations(),
      readAuditLines: () => this.readAuditLines(),
      getKey: (name) => this.getKey(name),
      listKeys: () => this.listKeys(),
      lastSerial: () => this.lastSerial(),
      async saveState(document) {
        checkDocumentSize('the state document', document);
        await q('INSERT INTO tctl_state (id, document) VALUES (true, $1) ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document', [document]);
      },
      async putKey(name, pem, opts) {
        checkKeyName(name);
        checkDocumentSize(`CA key ${name}`, pem);
        const r = await q(
          `INSERT INTO tctl_keys (name, pem) VALUES ($1, $2) ON CONFLICT (name) DO ${opts.overwrite ? 'UPDATE SET pem = EXCLUDED.pem' : 'NOTHING'}`,
          [name, pem],
        );
        if (r.rowCount === 0) throw new TctlError(`CA key ${name} already exists in PostgreSQL ${where}`);
      },
      async removeKey(name) {
        checkKeyName(name);
        await q('DELETE FROM tctl_keys WHERE name = $1', [name]);
      },
      async reserveSerials(count) {
        checkReservation(count);
        const r = await q('UPDATE tctl_serial SET last = last + $1 WHERE last + $1 <= $2 RETURNING last::text AS last', [count, MAX_SERIAL.toString()]);
        if (r.rows.length === 0) throw new TctlError('serial numbers exhausted');
        return BigInt(r.rows[0]!.last as string) - BigInt(count) + 1n;
      },
      async appendIssuance(records) {
        for (let i = 0; i < records.length; i += PAGE * 10) {
          const chunk = records.slice(i, i + PAGE * 10).map((r) => JSON.stringify(r));
          await q('INSERT INTO tctl_issuance (record) SELECT r FROM unnest($1::text[]) WITH ORDINALITY AS t(r, i) ORDER BY i', [chunk]);
        }
      },
      async addRevocations(records) {
        const fresh = new Map<string, RevocationRecord>();
        for (const r of records) if (!fresh.has(revocationKey(r))) fresh.set(revocationKey(r), r);
        if (fresh.size === 0) return [];
        const r = await q(
          `INSERT INTO tctl_revocations (identity, record)
           SELECT k, r FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(k, r, i) ORDER BY i
           ON CONFLICT (identity) DO NOTHING RETURNING identity`,
          [[...fresh.keys()], [...fresh.values()].map((v) => JSON.stringify(v))],
        );
        const added = new Set(r.rows.map((row) => row.identity as string));
        return [...fresh].filter(([k]) => added.has(k)).map(([, v]) => v);
      },
      async appendAudit(event: AuditEvent, now?: Date) {
        const last = await lastAudit();
        const line = auditLineAfter(last.line, event, now);
        await q('INSERT INTO tctl_audit (n, line) VALUES ($1, $2)', [(last.n + 1n).toString(), Buffer.from(line, 'utf8')]);
      },
      async checkpoint() {
        await q('COMMIT', [], 'commit');
        await q('BEGIN');
      },
      async auditFailure(event: AuditEvent) {
        // The failed command's writes since its checkpoint go (withLock would roll them back
        // anyway), and with them an aborted transaction that would refuse the entry.
        await q('ROLLBACK');
        clearFail();
        await q('BEGIN');
        if (!(await initialised())) return;
        await this.appendAudit(event);
        await this.checkpoint();
      },
      async restoreSerialCounter(last) {
        if (last < 0n || last > MAX_SERIAL) throw new Error(`restoreSerialCounter: bad serial ${last}`);
        await q('UPDATE tctl_serial SET last = GREATEST(last, $1::numeric)', [last.toString()]);
      },
      async restoreAuditLines(lines) {
        let n = (await lastAudit()).n;
        for (let i = 0; i < lines.length; i += PAGE) {
          const chunk = lines.slice(i, i + PAGE);
          await q('INSERT INTO tctl_audit (n, line) SELECT $1::bigint + i, l FROM unnest($2::bytea[]) WITH ORDINALITY AS t(l, i)', [n.toString(), chunk]);
          n += BigInt(chunk.length);
        }
      },
    };
  }
}

/** A column as `value` (NULL when longer than the cap in parameter $n) and its length as `size`. */
function capped(column: string, n: number): string {
  return `octet_length(${column}) AS size, CASE WHEN octet_length(${column}) <= $${n} THEN ${column} END AS value`;
}

function parseRecord<T>(text: string, what: string, where: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new TctlError(`PostgreSQL backend ${where} is damaged: ${what} is not valid JSON`, { hint: 'restore it from a backup ("tctl backend clone")' });
  }
}
