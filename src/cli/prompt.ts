// Confirmations on a terminal only; off a TTY (CI, pipes) we never ask and the caller decides.
// node:readline loads only when a question is asked: `auth sign` imports this module for the
// rare overwrite question.

export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY);
}

/** Asks a yes/no question on stderr; anything but y/yes is no. Teleport's wording: `...? [y/N]`. */
export async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Asks for a free-text answer on stderr. */
export async function ask(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(`${question} `)).trim();
  } finally {
    rl.close();
  }
}
