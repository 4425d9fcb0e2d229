// Durations as Teleport scripts write them: Go-style sequences such as 30m, 8h, 1h30m, plus d for days.
import { UsageError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** The longest duration any flag accepts (the --ttl cap); nothing parsed is ever bigger. */
export const MAX_DURATION_SECONDS = 87600 * 3600;
export const MAX_DURATION_TEXT = '87600h (10 years)';

/** A flag's cap, in seconds, and how the error names it. */
export interface DurationCap {
  seconds: number;
  text: string;
}

export const TTL_CAP: DurationCap = { seconds: MAX_DURATION_SECONDS, text: MAX_DURATION_TEXT };

// Long enough for any honest spelling of the cap ("87599h59m59.999999999s"), short enough that a
// pasted megabyte never reaches the regexp.
const MAX_TEXT_LENGTH = 64;
// Digits beyond what a nanosecond can hold are dropped, as Go's time.ParseDuration does.
const NANOS = 1_000_000_000n;

/** The user's text, shortened so a 400-digit value does not flood the terminal. */
function shown(text: string): string {
  return text.length <= 32 ? text : `${text.slice(0, 24)}... (${text.length} characters)`;
}

/**
 * Parses a duration into whole seconds between 1 and cap.seconds (87600h unless the flag has a
 * smaller cap); a bare number (no unit) is refused as ambiguous. The sum is kept in exact
 * integer nanoseconds (BigInt), so no input, however many digits it has, turns into Infinity,
 * NaN or a float that rounds past the cap: the cap is checked before a Number is made.
 */
export function parseDuration(flag: string, text: string, cap: DurationCap = TTL_CAP): number {
  if (text === '') throw new UsageError(`${flag} is empty`, 'give a duration such as 30m, 8h, 1h30m or 7d');
  const tooLong = () => new UsageError(`${flag} "${shown(text)}" is longer than the maximum of ${cap.text}`);
  const invalid = () => new UsageError(`invalid ${flag} "${shown(text)}"`, 'give a duration with a unit (s, m, h, d), such as 30m, 8h, 1h30m or 7d');
  if (text.length > MAX_TEXT_LENGTH) {
    throw new UsageError(`invalid ${flag} "${shown(text)}": more than ${MAX_TEXT_LENGTH} characters; the maximum is ${cap.text}`);
  }
  const re = /(\d+)(?:\.(\d+))?([a-z]+)/gy;
  const limit = BigInt(Math.min(cap.seconds, MAX_DURATION_SECONDS)) * NANOS;
  let nanos = 0n;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text)) !== null) {
    const unit = UNIT_SECONDS[m[3]!];
    if (unit === undefined) break;
    const fraction = (m[2] ?? '').slice(0, 9).padEnd(9, '0');
    nanos += BigInt(m[1]!) * BigInt(unit) * NANOS + (BigInt(fraction) * BigInt(unit));
    consumed = re.lastIndex;
  }
  if (consumed !== text.length || consumed === 0) throw invalid();
  if (nanos > limit) throw tooLong();
  if (nanos < NANOS) throw new UsageError(`${flag} must be at least 1s, got "${shown(text)}"`);
  const whole = Number(nanos / NANOS);
  // Unreachable by the checks above; kept so a future cap change cannot leak a non-integer.
  if (!Number.isSafeInteger(whole)) throw tooLong();
  return whole;
}

/** A short human form of a duration, e.g. 8h, 1h30m, 7d; never "Infinity" or "NaN". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return 'an invalid duration';
  let rest = Math.floor(seconds);
  let out = '';
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out || '0s';
}
