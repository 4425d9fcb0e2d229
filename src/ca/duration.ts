// Durations as Teleport scripts write them: Go-style sequences such as 30m, 8h, 1h30m, plus d for days.
import { UsageError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses a duration into whole seconds; a bare number (no unit) is refused as ambiguous. */
export function parseDuration(flag: string, text: string): number {
  if (text === '') throw new UsageError(`${flag} is empty`, 'give a duration such as 30m, 8h, 1h30m or 7d');
  const re = /(\d+(?:\.\d+)?)([a-z]+)/gy;
  let seconds = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text)) !== null) {
    const unit = UNIT_SECONDS[m[2]!];
    if (unit === undefined) break;
    seconds += Number(m[1]) * unit;
    consumed = re.lastIndex;
  }
  if (consumed !== text.length || consumed === 0) {
    throw new UsageError(`invalid ${flag} "${text}"`, 'give a duration with a unit (s, m, h, d), such as 30m, 8h, 1h30m or 7d');
  }
  const whole = Math.floor(seconds);
  if (whole < 1) throw new UsageError(`${flag} must be at least 1s, got "${text}"`);
  return whole;
}

/** A short human form of a duration, e.g. 8h, 1h30m, 7d. */
export function formatDuration(seconds: number): string {
  let rest = seconds;
  let out = '';
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out || '0s';
}
