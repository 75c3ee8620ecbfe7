/**
 * A one-consumer async queue: the stream session pushes outputs from timers and input handlers, the
 * gRPC layer pulls them with `for await`. Closing with an error makes the consumer throw it after the
 * items already queued.
 */
export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: (() => void) | undefined;
  private closed = false;
  private failure: unknown;

  /** Queues one item; ignored after close. */
  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.wake();
  }

  /** Ends the channel, with an error the consumer will throw, or cleanly. */
  close(error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = error;
    this.wake();
  }

  /** Items queued and not yet taken. */
  get size(): number {
    return this.items.length - this.head;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.head < this.items.length) {
        const item = this.items[this.head++];
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items.splice(0, this.head);
          this.head = 0;
        }
        yield item;
        continue;
      }
      if (this.closed) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
}
