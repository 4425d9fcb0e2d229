// A fixed validity window, as ssh-keygen -V gives one: absolute times for valid_after and
// valid_before, in RFC 3339 or ssh-keygen's own YYYYMMDD[HHMM[SS]] spelling.
import { UsageError } from '../errors.js';

// Far past any honest spelling ("2025-01-02T03:04:05.123456789+05:30" is 35); stops a pasted blob.
const MAX_TEXT_LENGTH = 40;
/** 9999-12-31T23:59:59Z: four-digit years only, so every accepted time is a finite, exact number. */
const LAST_SECOND = 253402300799;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
// ssh-keygen's parse_absolute_time: 8, 12 or 14 digits, local time unless followed by Z.
const KEYGEN = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?([Zz])?$/;

const HINT = 'give an RFC 3339 time such as 2025-07-01T09:00:00Z, or ssh-keygen\'s YYYYMMDD[HHMM[SS]] (local time; Z for UTC)';

/** Unix seconds of an absolute time; fractions of a second are dropped (certificates count whole seconds). */
export function parseTime(flag: string, text: string): number {
  if (text === '') throw new UsageError(`${flag} is empty`, HINT);
  const shown = text.length <= 40 ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, 24))}... (${text.length} characters)`;
  const invalid = (why?: string) => new UsageError(`invalid ${flag} ${shown}${why ? `: ${why}` : ''}`, HINT);
  if (text.length > MAX_TEXT_LENGTH) throw invalid();
  let fields: number[];
  let offsetMinutes: number | 'local';
  let m = RFC3339.exec(text);
  if (m) {
    fields = m.slice(1, 7).map(Number);
    offsetMinutes = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
    if (Number(m[10]) > 23 || Number(m[11]) > 59) throw invalid('the UTC offset is out of range');
  } else if ((m = KEYGEN.exec(text))) {
    fields = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
    offsetMinutes = m[7] ? 0 : 'local';
  } else {
    throw invalid();
  }
  const [year, month, day, hour, minute, second] = fields as [number, number, number, number, number, number];
  // Date maps years below 100 to 19xx; nothing before 1970 is a certificate time anyway.
  if (year < 1970) throw invalid('outside 1970 to 9999');
  if (month < 1 || month > 12) throw invalid('no such month');
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) throw invalid('no such day');
  // 24:00 and leap second 60 are refused: ssh-keygen's strptime refuses them too.
  if (hour > 23 || minute > 59 || second > 59) throw invalid('no such time of day');
  let ms: number;
  if (offsetMinutes === 'local') {
    const d = new Date(year, month - 1, day, hour, minute, second);
    // A local time skipped by a daylight-saving change does not exist; Date would move it.
    if (d.getFullYear() !== year || d.getMonth() !== month - 1 || d.getDate() !== day || d.getHours() !== hour || d.getMinutes() !== minute) {
      throw invalid('that local time does not exist (a daylight-saving change); add Z for UTC');
    }
    ms = d.getTime();
  } else {
    ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  }
  const seconds = Math.floor(ms / 1000);
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > LAST_SECOND) throw invalid('outside 1970 to 9999');
  return seconds;
}

/** RFC 3339 in UTC, whole seconds: how messages and JSON show a window edge. */
export function formatTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}
