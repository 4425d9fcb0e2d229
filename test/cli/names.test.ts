// What users see for names: host key ids and files follow the lowercased host name; names that
// read as something else are refused before anything is signed.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';

test('host key id and output files follow the lowercased host name, single and batch', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const r = run(['auth', 'sign', '--host=API.Example.com,2001:0DB8:0000::1']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'The credentials have been written to api.example.com, api.example.com.pub, api.example.com-cert.pub\n');
  const listing = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'api.example.com-cert.pub')]).stdout;
  assert.match(listing, /Key ID: "api\.example\.com"\n/);
  assert.match(listing, /Principals: \n\s+api\.example\.com\n\s+2001:db8::1\n/);
  const issued = fs.readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8');
  assert.match(issued, /"keyId":"api\.example\.com"/);
  assert.doesNotMatch(issued, /API/);

  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(cwd, 'k')]).status, 0);
  const key = fs.readFileSync(path.join(cwd, 'k.pub'), 'utf8').trim();
  fs.writeFileSync(path.join(cwd, 'req.jsonl'), JSON.stringify({ host: 'WEB1.Example.COM', public_key: key }) + '\n');
  const b = run(['auth', 'sign', '--batch=req.jsonl', '--out-dir=certs']);
  assert.equal(b.status, 0, b.stderr);
  assert.deepEqual(fs.readdirSync(path.join(cwd, 'certs')), ['web1.example.com-cert.pub']);
});

test('names that read as another are refused with one line, before anything is signed', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const cases: Array<[string[], RegExp]> = [
    [['--user=root\u202e'], /^tctl: error: invalid user name "root\\u\{202e\}": contains the invisible character U\+202E\n/],
    [['--user=al\u200bice'], /contains the invisible character U\+200B/],
    [['--user= bob'], /^tctl: error: invalid user name " bob": starts or ends with whitespace\n$/],
    [['--user=bob\u00a0'], /starts or ends with whitespace/],
    [['--user=bob', '--principals=bob,\u2066root\u2069'], /invalid principal .*U\+2066/],
    [['--host=fe80::1%eth0'], /^tctl: error: invalid host name "fe80::1%eth0": zone ids \("%eth0"\) are not allowed\n/],
    [['--host=010.0.0.1'], /ambiguous IPv4 address \(ssh would connect to 8\.0\.0\.1\)/],
    [['--user=ci', '--source-address=127.0.0.1/8'], /^tctl: error: invalid --source-address entry "127\.0\.0\.1\/8": the address has bits set past the mask, so sshd rejects the certificate\ntctl: hint: did you mean 127\.0\.0\.0\/8\? \(or the single address 127\.0\.0\.1\)\n$/],
    [['--user=ci', '--source-address=fe80::1%lo'], /zone ids/],
  ];
  for (const [args, re] of cases) {
    const r = run(['auth', 'sign', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.ok(!r.stderr.includes('\u202e') && !r.stderr.includes('\u2066'), 'no raw bidi characters on the terminal');
  }
  assert.deepEqual(fs.readdirSync(cwd).sort(), ['ca']);
  assert.ok(!fs.existsSync(path.join(dataDir, 'issued.jsonl')));
  // What is accepted is written canonically.
  const ok = run(['auth', 'sign', '--user=ci', '--source-address=10.0.0.0/8, 2001:0DB8::/32,10.0.0.0/08']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'ci-cert.pub')]).stdout, /source-address 10\.0\.0\.0\/8,2001:db8::\/32\n/);
});
