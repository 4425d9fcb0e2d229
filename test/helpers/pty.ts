// Drives a command through a real pseudo-terminal (python3's pty module): waits for each prompt
// text, then types the keys, as an operator would. Interactive prompts read keypresses in raw
// mode, so feeding all input up front (as script(1) does) would race them.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './run.js';

export const KEY = { down: '\x1b[B', up: '\x1b[A', enter: '\r', ctrlC: '\x03' } as const;

const DRIVER = String.raw`
import fcntl, json, os, pty, re, select, struct, sys, termios, time
argv, env, steps, cwd = json.loads(sys.stdin.read())
pid, fd = pty.fork()
if pid == 0:
    # a wide terminal, so prompts are not wrapped in the middle of what the test looks for
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 50, 250, 0, 0))
    os.chdir(cwd)
    os.execve(argv[0], argv, env)
out = b''
pos = 0
def read(timeout):
    global out
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return True
    try:
        data = os.read(fd, 65536)
    except OSError:
        return False
    if not data:
        return False
    out += data
    return True
failed = None
for expect, send in steps:
    deadline = time.time() + 15
    pat = re.compile(expect.encode(), re.S)
    while True:
        m = pat.search(out, pos)
        if m:
            pos = m.end()
            break
        if time.time() > deadline or not read(0.1):
            m = pat.search(out, pos)
            if m:
                pos = m.end()
                break
            failed = expect
            break
    if failed is not None:
        break
    time.sleep(0.05)
    os.write(fd, send.encode())
if failed is not None:
    os.kill(pid, 9)
deadline = time.time() + 5
while time.time() < deadline and read(0.2):
    pass
# The terminal closes as the process exits, a moment before it can be reaped.
deadline = time.time() + 5
done, status = os.waitpid(pid, os.WNOHANG)
while done == 0 and time.time() < deadline:
    time.sleep(0.05)
    done, status = os.waitpid(pid, os.WNOHANG)
if done == 0:
    # still waiting for keys nobody will type: the test says what it expected instead
    os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    failed = failed or "(the command did not exit)"
code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
print(json.dumps({"status": code, "output": out.decode("utf-8", "replace"), "failed": failed}))
`;

export interface PtyResult {
  status: number;
  /** stdout and stderr as the terminal showed them */
  output: string;
  /** the expected text that never appeared, if any */
  failed: string | null;
}

/** Runs argv on a pseudo-terminal; each step waits for a regexp (source text) and then sends keys. */
export function inPty(argv: string[], steps: Array<[string, string]>, opts: { cwd: string; env: Record<string, string> }): PtyResult {
  const dir = tempDir('tctl-pty-');
  const driver = path.join(dir, 'driver.py');
  fs.writeFileSync(driver, DRIVER);
  const r = spawnSync('python3', [driver], { input: JSON.stringify([argv, opts.env, steps, opts.cwd]), encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`pty driver failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PtyResult;
}

/** Terminal output without colours and cursor movement, for matching. */
export function plain(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}
