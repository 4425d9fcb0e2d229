// Tests that load a PKCS#11 module run their body in a child process with a time limit. A native
// module can deadlock (SoftHSM links the system libcrypto while node carries its own OpenSSL); a
// hang must fail one attempt, be retried once, and never block the test runner.
//
//   isolatedTest(import.meta.url, 'name', opts, () => { ... })
// The parent registers a test that runs this same file with TCTL_ISOLATED_TEST=<name>; the child
// registers only that test and runs its body for real.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test, type TestOptions } from 'node:test';

const CHILD = process.env.TCTL_ISOLATED_TEST;

export function isolatedTest(fileUrl: string, name: string, opts: TestOptions & { timeoutMs?: number }, fn: () => void | Promise<void>): void {
  if (CHILD !== undefined) {
    if (CHILD === name) test(name, opts, fn);
    return;
  }
  const { timeoutMs = 120_000, ...testOpts } = opts;
  test(name, testOpts, () => {
    const file = fileURLToPath(fileUrl);
    // NODE_TEST_CONTEXT would make the child report to a parent runner in binary, not TAP.
    const env: NodeJS.ProcessEnv = { ...process.env, TCTL_ISOLATED_TEST: name };
    delete env.NODE_TEST_CONTEXT;
    let last = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      const r = spawnSync(process.execPath, ['--test-reporter=tap', file], {
        env,
        encoding: 'utf8',
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      });
      const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT' || r.signal === 'SIGKILL';
      if (timedOut) {
        last = `attempt ${attempt} timed out after ${timeoutMs} ms\n${r.stdout}${r.stderr}`;
        process.stderr.write(`# ${name}: ${last.split('\n')[0]}\n`);
        continue;
      }
      if (r.error) throw r.error;
      assert.equal(r.status, 0, `child test failed:\n${r.stdout}\n${r.stderr}`);
      // The child must really have run the test (a renamed test would otherwise pass as "0 tests").
      assert.match(r.stdout, /^# pass 1$/m, `the child ran no test:\n${r.stdout}`);
      return;
    }
    assert.fail(`hung twice (a PKCS#11 deadlock?): ${last}`);
  });
}
