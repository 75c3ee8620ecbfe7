/**
 * Watches keeps one Watch open per (container, isolator module): the first limitation goes to the
 * containerizer, which destroys the container. A module that dies breaks its streams; each watch then
 * waits for the module's restart (after the restarted module got Recover) or a short delay, and
 * reopens, so a limitation a recovered module raises still arrives. When the container's process ends,
 * the watches stay open through the isolators' cleanup ({@link Watches.drain}): a limitation that raced
 * with the exit (an OOM kill noticed a poll later) still arrives and becomes the termination.
 *
 * ```ts
 * const watches = new Watches(log, (c, iso, limitation) => destroy(c, limitation));
 * watches.start(container);            // after the container was released
 * watches.restarted('echo');           // from the module's recover callback
 * await cleanup(container); await watches.drain(container, 50);   // after the exit, then abort the watches
 * ```
 */
import { TesseraError, type ContainerLimitation } from '@tessera/modules-api';
import type { Log } from '../../log';
import type { Container } from './container';
import { ModuleIsolator } from './isolators';

/** How long a broken watch waits before reopening when no restart is announced. */
const RETRY_MS = 2000;

/** Watches supervises the isolator modules' Watch streams; see the module comment. */
export class Watches {
  private readonly waiters = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(
    private readonly log: Log,
    private readonly onLimitation: (c: Container, iso: ModuleIsolator, limitation: ContainerLimitation) => void,
  ) {}

  /**
   * start opens a watch on every module isolator that prepared the container (built-ins never fire);
   * `c.watchesEnded` settles once all of them ended (limitation, the module ended the stream, or abort).
   */
  start(c: Container): void {
    const loops: Promise<void>[] = [];
    for (const iso of c.prepared) if (iso instanceof ModuleIsolator) loops.push(this.loop(c, iso));
    c.watchesEnded = loops.length ? Promise.all(loops).then(() => undefined) : undefined;
  }

  /**
   * drain resolves once the container's watches ended, or after `ms` at most: after cleanup, a module
   * that still had a limitation to deliver (the cgroups module checks for an OOM kill once more before
   * it answers Cleanup) has written it ahead of its Cleanup answer, and ends the stream right after;
   * `ms` bounds the wait for modules that keep the stream open until the core cancels it.
   */
  async drain(c: Container, ms: number): Promise<void> {
    if (!c.watchesEnded) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([c.watchesEnded, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /** restarted wakes the watches of a module that came back, so they reopen at once. */
  restarted(name: string): void {
    for (const w of [...(this.waiters.get(name) ?? [])]) w();
  }

  /** close stops reopening (the containers' own AbortSignals end the open streams). */
  close(): void {
    this.closed = true;
  }

  private async loop(c: Container, iso: ModuleIsolator): Promise<void> {
    const signal = c.watchAbort.signal;
    while (!signal.aborted && !this.closed) {
      try {
        const limitation = await iso.watch(c.id, signal);
        if (limitation) {
          this.onLimitation(c, iso, limitation);
          return;
        }
        if (signal.aborted || iso.ready()) return; // the module ended the watch: it will not report on this container
      } catch (err) {
        if (signal.aborted || this.closed) return;
        this.log.debug(`watch of container ${c.id} on ${iso.name} ended: ${TesseraError.wrap(err).message}; reopening once the module is back`);
      }
      await this.restartOrDelay(iso.name, signal);
    }
  }

  private restartOrDelay(name: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiters.get(name) ?? new Set();
      this.waiters.set(name, waiters);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, RETRY_MS);
      waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
