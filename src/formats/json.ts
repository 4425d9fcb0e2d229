// JSON that means one thing to every reader. RFC 8259 §4 says object names SHOULD be unique and
// that parsers disagree when they are not: JSON.parse keeps the last value, many tools keep the
// first. A batch line a reviewer reads as `"principals":["deploy"]` must not sign for a second
// "principals" further along, so duplicate names are refused, however they are escaped.
import { UsageError } from '../errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The first object name (in document order, unescaped) that appears twice in one object, at any
 * depth, or undefined. Only valid for text JSON.parse accepted: it relies on that grammar (in an
 * object, a string right after `{` or `,` is a name) instead of checking it again.
 */
export function findDuplicateKey(text: string): string | undefined {
  // One entry per open container: the names seen so far for an object, null for an array.
  const open: Array<Set<string> | null> = [];
  let nameNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      let escaped = false;
      for (;; end++) {
        const d = text.charCodeAt(end);
        if (d === BACKSLASH) {
          escaped = true;
          end++;
        } else if (d === QUOTE) {
          break;
        }
      }
      const names = open[open.length - 1];
      if (nameNext && names) {
        // Names are compared as JSON.parse would store them: "\u0068ost" is "host".
        const name = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        if (names.has(name)) return name;
        names.add(name);
      }
      nameNext = false;
      i = end;
    } else if (c === 0x7b /* { */) {
      open.push(new Set());
      nameNext = true;
    } else if (c === 0x5b /* [ */) {
      open.push(null);
      nameNext = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
      nameNext = false;
    } else if (c === 0x2c /* , */) {
      nameNext = open[open.length - 1] != null;
    } else if (c === 0x3a /* : */) {
      nameNext = false;
    }
  }
  return undefined;
}

/** JSON.parse, refusing text with a duplicate object name anywhere in it. */
export function parseStrictJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError('not valid JSON');
  }
  const dup = findDuplicateKey(text);
  if (dup !== undefined) {
    const shown = dup.length > 64 ? `${dup.slice(0, 64)}...` : dup;
    throw new UsageError(`duplicate key ${asciiJson(shown)}: each key may appear once in an object`);
  }
  return value;
}

/** A JSON string literal in printable ASCII, so a name with control or bidi characters cannot disguise the message. */
function asciiJson(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
