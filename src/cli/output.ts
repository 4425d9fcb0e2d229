// The only writers to stdout/stderr. Stdout carries data; stderr carries messages.
// They write to the descriptors directly: process.stdout and process.stderr are streams whose
// set-up (node:stream and, on a pipe or terminal, net) costs several ms of a command that prints
// one line.
import { fstatSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { TctlError } from '../errors.js';

/**
 * Whether stdout (1) or stderr (2) is a terminal. node:tty loads net and the streams, so it is
 * asked only about character devices: a pipe or a file never is one.
 */
export function isTerminal(fd: 1 | 2): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return (createRequire(import.meta.url)('node:tty') as typeof import('node:tty')).isatty(fd);
}

/** Help text width: the terminal's, or 80 (commander's default) off a terminal. */
export function helpWidth(fd: 1 | 2): number {
  return (isTerminal(fd) ? (fd === 1 ? process.stdout : process.stderr).columns : undefined) ?? 80;
}

/** Colour only on a terminal, and never when NO_COLOR is set (no-color.org). */
function colourEnabled(): boolean {
  return isTerminal(2) && !process.env.NO_COLOR;
}

/** Writes all of data, waiting out a descriptor left non-blocking (EAGAIN) as a stream would. */
function writeAll(fd: 1 | 2, data: string | Uint8Array): void {
  let bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  while (bytes.length > 0) {
    let n: number;
    try {
      n = writeSync(fd, bytes);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // `tctl auth export | head -1` closes the pipe early; that is not an error worth a stack trace.
      if (code === 'EPIPE') process.exit(0);
      if (code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      continue;
    }
    bytes = bytes.subarray(n);
  }
}

async function paint(kind: 'error' | 'hint' | 'warning', text: string): Promise<string> {
  if (!colourEnabled()) return text;
  const { default: chalk } = await import('chalk');
  return kind === 'error' ? chalk.red(text) : kind === 'warning' ? chalk.yellow(text) : chalk.dim(text);
}

export function stdout(text: string): void {
  writeAll(1, text.endsWith('\n') || text === '' ? text : text + '\n');
}

/** Data for stdout exactly as given (a KRL, DER, a piece of a streamed JSON document). */
export function stdoutBytes(data: string | Uint8Array): void {
  writeAll(1, data);
}

/** One JSON document on stdout, the whole of what a --json command prints there. */
export function stdoutJson(value: unknown): void {
  stdout(JSON.stringify(value, null, 2));
}

export function stderr(text: string): void {
  writeAll(2, text.endsWith('\n') ? text : text + '\n');
}

/** Text for stderr exactly as given (a progress line redrawn with \r). */
export function stderrBytes(text: string): void {
  writeAll(2, text);
}

export async function printError(err: TctlError, debug: boolean): Promise<void> {
  const first = err.message.split('\n')[0] ?? err.message;
  let text = `${await paint('error', 'tctl: error:')} ${first}\n`;
  if (err.hint) text += `${await paint('hint', 'tctl: hint:')} ${err.hint}\n`;
  if (debug && err.stack) text += `${err.stack}\n${err.cause instanceof Error && err.cause.stack ? `cause: ${err.cause.stack}\n` : ''}`;
  writeAll(2, text);
}

export async function printWarning(message: string): Promise<void> {
  stderr(`${await paint('warning', 'tctl: warning:')} ${message}`);
}
