/**
 * One operation per key at a time: operations on the same key run in call order, each after the
 * previous one settled (fulfilled or not); different keys run concurrently. A server uses it so one
 * record (a task, a job) is never judged or paid twice by concurrent requests.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` once every earlier operation on `key` has settled; resolves or rejects as `fn` does. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const p = prev.then(fn, fn);
    const tail = p.catch(() => undefined);
    this.tails.set(key, tail);
    // Forget the key once its queue is empty, so the map holds only keys in use.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return p;
  }

  /** Keys with an operation queued or running. */
  get size(): number {
    return this.tails.size;
  }

  /** Resolves once every operation queued so far has settled (e.g. before closing the store). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.tails.values()]);
  }
}
