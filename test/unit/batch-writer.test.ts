// The batch's file-writing thread: finish() waits synchronously (it runs inside the signing
// session, under the lock) and reports the first write error, so the audit entry can say so.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { startFileWriter } from '../../src/store/writer-thread.js';
import { tempDir } from '../helpers/run.js';

test('writer thread: every queued file is on disk with its content when finish() returns', () => {
  const dir = tempDir();
  const writer = startFileWriter();
  for (let c = 0; c < 5; c++) {
    const files = Array.from({ length: 400 }, (_, i): [string, string] => [path.join(dir, `c${c}-${i}-cert.pub`), `cert ${c} ${i}\n`]);
    writer.write({ files, mode: 0o644, overwrite: false });
  }
  const returned = writer.finish();
  assert.equal(returned, undefined, 'finish is synchronous');
  assert.equal(writer.written(), 2000);
  const names = fs.readdirSync(dir);
  assert.equal(names.length, 2000, 'no temp files left');
  assert.equal(fs.readFileSync(path.join(dir, 'c3-17-cert.pub'), 'utf8'), 'cert 3 17\n');
  assert.equal(fs.statSync(path.join(dir, 'c0-0-cert.pub')).mode & 0o777, 0o644);
});

test('writer thread: the first write error comes out of finish(), and later chunks are not written', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'taken-cert.pub'), 'someone else\n');
  for (const [bad, re] of [
    [path.join(dir, 'taken-cert.pub'), /taken-cert\.pub already exists/],
    [path.join(dir, 'missing', 'x-cert.pub'), /cannot write .*missing\/x-cert\.pub: no such file or directory/],
    [path.join(dir, 'taken-cert.pub', 'x-cert.pub'), /a path component is not a directory/],
  ] as const) {
    const writer = startFileWriter();
    writer.write({ files: [[path.join(dir, 'ok-cert.pub'), 'ok\n'], [bad, 'x\n']], mode: 0o644, overwrite: false });
    writer.write({ files: [[path.join(dir, 'late-cert.pub'), 'late\n']], mode: 0o644, overwrite: false });
    assert.throws(() => writer.finish(), { message: re });
    assert.equal(fs.readFileSync(path.join(dir, 'taken-cert.pub'), 'utf8'), 'someone else\n');
    assert.ok(!fs.existsSync(path.join(dir, 'late-cert.pub')));
    fs.rmSync(path.join(dir, 'ok-cert.pub'));
  }
  assert.deepEqual(fs.readdirSync(dir), ['taken-cert.pub'], 'no temp files left');
});
