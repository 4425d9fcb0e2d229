// openssl s_server / s_client for TLS interop tests: a server on a free loopback port, stopped by
// its process, and a client that sends one HTTP request and says whether it was answered.
import { spawn, spawnSync } from 'node:child_process';
import * as net from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface SServer {
  port: number;
  stop(): Promise<void>;
}

/** openssl s_server -www on 127.0.0.1; `extra` adds e.g. -Verify for client certificates. */
export async function sServer(cert: string, key: string, extra: string[] = []): Promise<SServer> {
  const port = await freePort();
  const child = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-key', key, '-www', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.once('exit', () => child.exitCode === null && child.kill('SIGKILL'));
  const deadline = Date.now() + 10_000;
  while (!/ACCEPT/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`s_server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, stop: async () => { if (child.exitCode === null) { child.kill('SIGTERM'); await exited; } } };
}

/** s_client sends one HTTP request; `ok` is true only when the server answered it (handshake and client auth passed). */
export function sClient(port: number, args: string[]): { status: number; ok: boolean; out: string } {
  const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-verify_return_error', '-ign_eof', ...args], {
    input: 'GET / HTTP/1.0\r\n\r\n', encoding: 'utf8', timeout: 15_000,
  });
  const out = r.stdout + r.stderr;
  return { status: r.status ?? -1, ok: /HTTP\/1\.0 200 ok/i.test(out), out };
}

