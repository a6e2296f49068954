/**
 * Messages published with a reply subject of their own (`<prefix><id>`) that await their answer,
 * oldest first. Each settles exactly once: by its answer, by a failure the caller reports, by its
 * deadline, or when the connection ends. All share one timeout, so the map stays in deadline
 * order and one sweep timer per connection finds the expired ones (no timer per message).
 */
interface Pending<T> {
  deadline: number;
  resolve(value: T): void;
  reject(err: Error): void;
}

export class PendingReplies<T> {
  private readonly pending = new Map<number, Pending<T>>();
  private lastId = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly timedOut: () => Error,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Registers one; returns its id, the digits of its reply subject. */
  add(resolve: (value: T) => void, reject: (err: Error) => void): number {
    const id = ++this.lastId;
    this.pending.set(id, { deadline: Date.now() + this.timeoutMs, resolve, reject });
    return id;
  }

  /** No-op for an id that already settled (an answer after its deadline). */
  resolve(id: number, value: T): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    entry.resolve(value);
  }

  reject(id: number, err: Error): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    entry.reject(err);
  }

  /** Rejects the ones past their deadline; stops at the first that is not. */
  expire(): void {
    const now = Date.now();
    for (const [id, entry] of this.pending) {
      if (entry.deadline > now) break;
      this.reject(id, this.timedOut());
    }
  }

  rejectAll(err: () => Error): void {
    for (const id of [...this.pending.keys()]) this.reject(id, err());
  }
}
