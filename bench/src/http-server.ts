/**
 * The node:http server of the HTTP bench, the same code on both sides: served over
 * mcstack's Node API in the bench's process, and run as a program on the Linux kernel
 * inside the bench's namespace (`node http-server.js PORT [HOST]`, printing `listening`).
 * `GET /<n>` answers n bytes of 'x' (at most 1 MiB), as http-lite does.
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const BODY = Buffer.alloc(1 << 20, 'x');

/** The request handler: a 10-line node:http server's. */
export function sizedBody(req: http.IncomingMessage, res: http.ServerResponse): void {
  const n = Math.min(Number((req.url ?? '/').slice(1)) || 0, BODY.length);
  res.writeHead(200, { 'content-length': n });
  res.end(BODY.subarray(0, n));
}

/** This file's path (what the bench runs inside the namespace). */
export const HTTP_SERVER_JS = fileURLToPath(import.meta.url);

if (process.argv[1] === HTTP_SERVER_JS) {
  const port = Number(process.argv[2]);
  const host = process.argv[3] ?? '127.0.0.1';
  http.createServer(sizedBody).listen(port, host, () => process.stdout.write('listening\n'));
}
