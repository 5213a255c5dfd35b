/**
 * Sockets a group opens through the coordinator (a listener, a UDP bind, an active open)
 * wait for its answer, and the main thread may close one meanwhile. The ids still waiting
 * are kept here: a close cancels its id, and an answer that comes after a cancel is undone
 * (its fds closed, its port share given back) instead of installed.
 */
export class Pending {
  private readonly ids = new Set<number>();

  /** Whether `id` waits for an answer. */
  has(id: number): boolean {
    return this.ids.has(id);
  }

  /** The socket of `id` closed before its answer: undo the answer when it comes. */
  cancel(id: number): void {
    this.ids.delete(id);
  }

  /**
   * Wait for `answer` for `id`: `ok` with its value, `fail` with its rejection, or `undo`
   * of a value that came after a cancel (a rejection after a cancel left nothing to undo).
   */
  wait<T>(
    id: number,
    answer: Promise<T>,
    ok: (v: T) => void,
    fail: (err: unknown) => void,
    undo: (v: T) => void,
  ): void {
    this.ids.add(id);
    answer.then(
      (v) => (this.ids.delete(id) ? ok(v) : undo(v)),
      (err: unknown) => {
        if (this.ids.delete(id)) fail(err);
      },
    );
  }
}
