// node-postgres errors as one tctl error line. Anything that means "no usable connection"
// (refused, unreachable, timed out, TLS, authentication, server shutting down, connection lost
// mid-command) reads `cannot reach PostgreSQL at URL: why`; the URL never holds the password, and
// the password is scrubbed from the reason too in case a driver ever echoes it.
import { TctlError } from '../../errors.js';

/** Where a failure happened: before any transaction, inside one (rolled back), or during COMMIT (outcome unknown). */
export type PgPhase = 'connect' | 'transaction' | 'commit' | 'read';

const SOCKET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the server running and listening there?)',
  ENOENT: 'no server socket there (is the server running?)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset by the server',
  EPIPE: 'connection closed by the server',
  EACCES: 'permission denied on the server socket',
};

/**
 * node-postgres's own words (lib/crypto/sasl.js) when the server asks for a SCRAM password and
 * neither the URL nor ~/.pgpass gave one: an authentication failure, found before anything is sent.
 */
const NO_PASSWORD = /^SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a (?:non-empty )?string/;

interface PgLikeError {
  code?: string;
  message?: string;
}

/** True for errors after which the connection cannot be used (as opposed to a refused statement). */
export function isConnectionError(err: unknown): boolean {
  const e = err as PgLikeError;
  const code = e?.code ?? '';
  if (code in SOCKET_REASONS) return true;
  // SQLSTATE 08 connection exception, 57P0x shutdown/crash/cannot connect now, 28 authentication, 3D000 no such database.
  if (/^(08|28|57P0[1-4]|3D000)/.test(code)) return true;
  if (/^ERR_TLS|^ERR_SSL|CERT|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO|HOSTNAME/.test(code)) return true;
  if (NO_PASSWORD.test(e?.message ?? '')) return true;
  return /Connection terminated|connection timeout|timeout expired|does not support SSL|Client has encountered a connection error|Client was closed|not queryable/i.test(e?.message ?? '');
}

function reasonOf(err: unknown): string {
  const e = err as PgLikeError;
  const socket = e?.code ? SOCKET_REASONS[e.code] : undefined;
  if (socket) return socket;
  const msg = (e?.message ?? String(err)).split('\n')[0]!;
  if (NO_PASSWORD.test(msg)) return 'the server asks for a password and none was given';
  if (/Connection terminated unexpectedly/i.test(msg)) return 'the connection was lost';
  if (/connection timeout|timeout expired/i.test(msg)) return 'connection timed out';
  return msg.charAt(0).toLowerCase() + msg.slice(1);
}

export function pgError(err: unknown, where: string, phase: PgPhase, password?: string): TctlError {
  if (err instanceof TctlError) return err;
  let reason = reasonOf(err);
  if (password) reason = reason.split(password).join('***');
  if (!isConnectionError(err)) {
    return new TctlError(`PostgreSQL at ${where} refused a statement: ${reason}`, {
      hint: phase === 'transaction' ? 'nothing since the last checkpoint of this command was recorded' : undefined,
      cause: err,
    });
  }
  const hint =
    phase === 'commit'
      ? 'the connection was lost while committing: the command may or may not be recorded; check "tctl auth ls" and "tctl audit verify" before retrying'
      : phase === 'transaction'
        ? 'nothing since the last checkpoint of this command was recorded (the server rolls it back); run the command again once PostgreSQL is back'
        : (err as PgLikeError)?.code?.startsWith('28') || NO_PASSWORD.test((err as PgLikeError)?.message ?? '')
          ? 'check the user and password in the URL (or ~/.pgpass) and pg_hba.conf'
          : 'check that PostgreSQL is running and that the URL (--backend, TCTL_BACKEND or teleport.storage) is right';
  return new TctlError(`cannot reach PostgreSQL at ${where}: ${reason}`, { hint, cause: err });
}
