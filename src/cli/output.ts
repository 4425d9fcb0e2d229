// The only writers to stdout/stderr. Stdout carries data; stderr carries messages.
import { TctlError } from '../errors.js';

/** Colour only on a terminal, and never when NO_COLOR is set (no-color.org). */
function colourEnabled(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.NO_COLOR;
}

async function paint(kind: 'error' | 'hint' | 'warning', text: string): Promise<string> {
  if (!colourEnabled()) return text;
  const { default: chalk } = await import('chalk');
  return kind === 'error' ? chalk.red(text) : kind === 'warning' ? chalk.yellow(text) : chalk.dim(text);
}

export function stdout(text: string): void {
  process.stdout.write(text.endsWith('\n') || text === '' ? text : text + '\n');
}

/** One JSON document on stdout, the whole of what a --json command prints there. */
export function stdoutJson(value: unknown): void {
  stdout(JSON.stringify(value, null, 2));
}

export function stderr(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : text + '\n');
}

export async function printError(err: TctlError, debug: boolean): Promise<void> {
  const first = err.message.split('\n')[0] ?? err.message;
  let text = `${await paint('error', 'tctl: error:')} ${first}\n`;
  if (err.hint) text += `${await paint('hint', 'tctl: hint:')} ${err.hint}\n`;
  if (debug && err.stack) text += `${err.stack}\n${err.cause instanceof Error && err.cause.stack ? `cause: ${err.cause.stack}\n` : ''}`;
  process.stderr.write(text);
}

export async function printWarning(message: string): Promise<void> {
  stderr(`${await paint('warning', 'tctl: warning:')} ${message}`);
}
