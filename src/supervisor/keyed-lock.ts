/**
 * One holder at a time per key, waiters served in arrival order; different keys never wait on each
 * other. The supervisor keys it by workload name: one command (or operator method) per workload at once.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  /** Resolves when `key` is ours; call the returned function to let the next waiter in. */
  acquire(key: string): Promise<() => void> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key); // nothing queued after us: forget the key
    });
    return before.then(() => release);
  }

  /** Runs `work` holding `key`; the lock is let go however `work` ends. */
  async run<T>(key: string, work: () => T | Promise<T>): Promise<T> {
    const release = await this.acquire(key);
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Keys held or waited for now. */
  get size(): number {
    return this.#tails.size;
  }
}
