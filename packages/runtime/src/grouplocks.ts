/**
 * The coordinator's side of the group locks. Each group has a GroupLock (netinet
 * in_pcbgroup.ts) in shared memory; its worker holds it for each slice of its loop
 * (worker/group.ts). The coordinator takes it with lockAsync, so the main thread keeps
 * serving messages, for the cross-thread reads and changes of a group; a pcblookup with a
 * lock flag keeps it until the result's release() (a hold, let go by releaseHolds() at stop).
 */
import { GROUP_LOCK_BYTES, GroupLock } from '@mcstack/netinet';
import { SysError } from '@mcstack/netinet';

export class GroupLocks {
  /** Each group's lock words, shared with its worker. */
  readonly sabs: readonly SharedArrayBuffer[];
  private readonly locks: readonly GroupLock[];
  /** Releases of the holds not yet released. */
  private readonly holds = new Set<() => void>();

  constructor(groups: number) {
    this.sabs = Array.from({ length: groups }, () => new SharedArrayBuffer(GROUP_LOCK_BYTES));
    this.locks = this.sabs.map((sab) => new GroupLock(sab));
  }

  /**
   * Take group `w`'s lock without blocking the main thread (the hold usually ends with the
   * worker's slice). ESRCH when the worker's `task` ends first (a thread that died holding
   * its lock never lets go) or it is no longer `alive` when the lock comes; a lock that comes
   * after that is let go at once. `who` names the worker in the error.
   */
  async lock(w: number, task: Promise<unknown>, alive: () => boolean, who: string): Promise<GroupLock> {
    const lock = this.locks[w]!;
    const got = lock.lockAsync();
    const won = await Promise.race([
      got.then(() => true),
      task.then(
        () => false,
        () => false,
      ),
    ]);
    if (won && alive()) return lock;
    if (won) lock.unlock();
    else void got.then(() => lock.unlock());
    throw new SysError('ESRCH', `${who} ended`, 'lock');
  }

  /** Keep `lock` held past the call that took it; the returned release is idempotent. */
  hold(lock: GroupLock): () => void {
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      this.holds.delete(release);
      lock.unlock();
    };
    this.holds.add(release);
    return release;
  }

  /** Let go of every hold (a held group runs nothing, not even its way out). */
  releaseHolds(): void {
    for (const release of [...this.holds]) release();
  }
}
