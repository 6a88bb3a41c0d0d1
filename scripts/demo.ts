// `npm start`: a working demo on this machine. Starts four tiny backends on
// 127.0.0.1:18081-18084 (the endpoints named in examples/services.yaml),
// then `martello serve --manifests examples`, and prints requests to try.

import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const HTTP_PORT = Number(process.env['MARTELLO_DEMO_PORT'] ?? 8080);
const ADMIN_PORT = Number(process.env['MARTELLO_DEMO_ADMIN_PORT'] ?? 10254);
const HTTPS_PORT = Number(process.env['MARTELLO_DEMO_HTTPS_PORT'] ?? 8443);

const BACKENDS: Array<[name: string, port: number]> = [['foo (pod 1)', 18081], ['foo (pod 2)', 18082], ['bar', 18083], ['home', 18084]];

function startBackend(name: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const body = `Hello from ${name}: ${req.method} ${req.url} (Host: ${req.headers.host}, X-Forwarded-For: ${req.headers['x-forwarded-for']}, X-Request-ID: ${req.headers['x-request-id']})\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`demo backend ${name} cannot listen on 127.0.0.1:${port}: ${err.message}`)));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const servers = await Promise.all(BACKENDS.map(([name, port]) => startBackend(name, port)));
const martello = spawn(join(root, 'bin', 'martello'), [
  'serve', '--manifests', join(root, 'examples'),
  '--listen-http', `127.0.0.1:${HTTP_PORT}`, '--listen-https', `127.0.0.1:${HTTPS_PORT}`, '--listen-admin', `127.0.0.1:${ADMIN_PORT}`,
], { stdio: ['ignore', 'inherit', 'inherit'] });

const shutdown = (): void => {
  martello.kill('SIGTERM');
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
martello.on('exit', (code) => {
  for (const s of servers) s.close();
  process.exitCode = code ?? 0;
});

await waitReady(`http://127.0.0.1:${ADMIN_PORT}/readyz`, 20_000);
const u = `http://127.0.0.1:${HTTP_PORT}`;
process.stdout.write(`
Martello is routing on ${u} (admin on http://127.0.0.1:${ADMIN_PORT}). Try:

  curl -H 'Host: foo.example.com' ${u}/            # name-based virtual host (run twice: two pods)
  curl -H 'Host: bar.example.com' ${u}/anything
  curl -H 'Host: demo.example.com' ${u}/foo/x      # path fan-out
  curl -H 'Host: demo.example.com' ${u}/bar
  curl -H 'Host: demo.example.com' ${u}/           # Exact "/"
  curl -i -H 'Host: nobody.example.com' ${u}/      # no route: built-in 404
  curl -k --http2 --resolve foo.example.com:${HTTPS_PORT}:127.0.0.1 https://foo.example.com:${HTTPS_PORT}/
                                                   # HTTPS + HTTP/2 (-k: no Ingress here has a tls
                                                   # section, so the generated default certificate serves)
  curl http://127.0.0.1:${ADMIN_PORT}/debug/config   # what Martello is serving
  ./bin/martello routes --manifests examples       # the same as a table

Edit a file in examples/ and watch the log; Ctrl-C stops everything.
`);

async function waitReady(url: string, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (martello.exitCode !== null) throw new Error('martello exited before becoming ready');
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`martello not ready after ${deadlineMs} ms`);
}
