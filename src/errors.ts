// The one error type core modules throw; src/cli turns it into `tctl: error: ...`, a hint and an exit code.

/** usage: the command line itself is wrong (exit 2); failure: it was right but could not be done (exit 1). */
export type ErrorKind = 'usage' | 'failure';

export class TctlError extends Error {
  readonly hint?: string;
  readonly kind: ErrorKind;

  constructor(message: string, options: { hint?: string; kind?: ErrorKind; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.hint = options.hint;
    this.kind = options.kind ?? 'failure';
  }
}

export class UsageError extends TctlError {
  constructor(message: string, hint?: string) {
    super(message, { hint, kind: 'usage' });
  }
}

/**
 * An error as it crosses to another thread: a structured clone keeps only plain data, so a
 * TctlError travels as its message, hint and kind (kind is there for a TctlError only).
 */
export interface ErrorOnWire {
  message: string;
  hint?: string;
  kind?: ErrorKind;
}

export function errorToWire(err: unknown): ErrorOnWire {
  if (err instanceof TctlError) return { message: err.message, hint: err.hint, kind: err.kind };
  return { message: err instanceof Error ? err.message : String(err) };
}

/** The error again on this side: a TctlError as it was, anything else as `other` makes it. */
export function errorFromWire(e: ErrorOnWire, other: (message: string) => Error): Error {
  return e.kind !== undefined ? new TctlError(e.message, { hint: e.hint, kind: e.kind }) : other(e.message);
}

/** Names the allowed values of a closed set, e.g. `"user", "host"`. */
export function allowedValues(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

/** Checks a --fingerprint given for a TLS CA: a pin as tctl status prints it, sha256:<64 hex digits>. */
export function checkTlsPin(value: string): void {
  if (!/^sha256:[0-9a-f]{64}$/.test(value)) {
    throw new UsageError(`invalid --fingerprint "${value}" for a TLS CA`, 'TLS CA fingerprints are pins: sha256:<64 hex digits> (see tctl status)');
  }
}

/** Checks a value against a closed set exactly (case-sensitive), naming the allowed values on failure. */
export function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  if (value === '') throw new UsageError(`${flag} is empty; allowed values: ${allowedValues(allowed)}`);
  throw new UsageError(`invalid ${flag} "${value}"; allowed values: ${allowedValues(allowed)}`);
}
