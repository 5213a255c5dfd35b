/**
 * The Python peer (bench's PEER_PY) run in a test's network namespace: its plan on the
 * command line, its JSON lines read as an async queue, `go()` to release a paused first
 * connection.
 */
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { type Netns, PEER_PY } from '@mcstack/bench';

/** The Python peer in the namespace, its JSON lines as an async queue. */
export class Peer {
  readonly child: ChildProcess;
  private readonly lines: unknown[] = [];
  private waiter: (() => void) | null = null;
  private stderr = '';
  private exited = false;

  constructor(ns: Netns, plan: object) {
    this.child = ns.spawn('python3', ['-c', PEER_PY, JSON.stringify(plan)]);
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (s: string) => {
      this.stderr += s;
    });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      this.lines.push(JSON.parse(l));
      this.wake();
    });
    this.child.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async next<T>(): Promise<T> {
    for (;;) {
      if (this.lines.length > 0) return this.lines.shift() as T;
      if (this.exited) throw new Error(`python peer exited: ${this.stderr.trim() || 'no output'}`);
      await new Promise<void>((r) => {
        this.waiter = r;
      });
    }
  }

  go(): void {
    this.child.stdin!.write('go\n');
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
