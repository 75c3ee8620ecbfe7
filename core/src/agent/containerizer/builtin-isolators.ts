/**
 * The built-in isolators, as Mesos's: `posix/cpu` and `posix/mem` isolate nothing and report usage
 * from /proc for the container's process tree (the shim, its descendants and its process group);
 * `filesystem/posix` stands for the plain sandbox the containerizer makes anyway.
 *
 * ```ts
 * const cpu = new PosixCpuIsolator();
 * await cpu.usage('c1', shimPid);   // { cpusUserTimeSecs, cpusSystemTimeSecs, processes, threads }
 * ```
 */
import type * as Abi from '@tessera/modules-api';
import type { Isolator } from './isolators';
import { CLOCK_TICKS, PAGE_SIZE, ProcTable, type ProcStat } from './proc';

/** BUILTIN_ISOLATORS are the names --isolation accepts besides module names. */
export const BUILTIN_ISOLATORS = ['posix/cpu', 'posix/mem', 'filesystem/posix'] as const;

/** BuiltinIsolatorName is one of {@link BUILTIN_ISOLATORS}. */
export type BuiltinIsolatorName = (typeof BUILTIN_ISOLATORS)[number];

/** isBuiltinIsolator tells a built-in name from a module name. */
export function isBuiltinIsolator(name: string): name is BuiltinIsolatorName {
  return (BUILTIN_ISOLATORS as readonly string[]).includes(name);
}

abstract class NoopIsolator implements Isolator {
  abstract readonly name: string;
  async recover(): Promise<void> {}
  async prepare(): Promise<undefined> {
    return undefined;
  }
  async isolate(): Promise<void> {}
  watch(_containerId: string, signal: AbortSignal): Promise<undefined> {
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
  }
  async usage(_containerId: string, _pid: number | undefined): Promise<Abi.ResourceStatistics> {
    return {};
  }
  async cleanup(): Promise<void> {}
}

function processes(pid: number | undefined): ProcStat[] {
  if (!pid) return [];
  const table = ProcTable.shared();
  const snap = table.snapshot();
  // A container started after the cached scan is not in it: scan again rather than report nothing.
  if (!snap.byPid.has(pid)) return table.snapshot(0).containerProcesses(pid);
  return snap.containerProcesses(pid);
}

function counts(procs: ProcStat[]): Abi.ResourceStatistics {
  return { processes: procs.length, threads: procs.reduce((n, p) => n + p.numThreads, 0) };
}

/** PosixCpuIsolator reports CPU times (user, system) summed over the container's processes. */
export class PosixCpuIsolator extends NoopIsolator {
  readonly name = 'posix/cpu';
  override async usage(_containerId: string, pid: number | undefined): Promise<Abi.ResourceStatistics> {
    const procs = processes(pid);
    if (!procs.length) return {};
    const user = procs.reduce((n, p) => n + p.utime, 0) / CLOCK_TICKS;
    const system = procs.reduce((n, p) => n + p.stime, 0) / CLOCK_TICKS;
    return { cpusUserTimeSecs: user, cpusSystemTimeSecs: system, ...counts(procs) };
  }
}

/** PosixMemIsolator reports resident memory summed over the container's processes. */
export class PosixMemIsolator extends NoopIsolator {
  readonly name = 'posix/mem';
  override async usage(_containerId: string, pid: number | undefined): Promise<Abi.ResourceStatistics> {
    const procs = processes(pid);
    if (!procs.length) return {};
    return { memRssBytes: procs.reduce((n, p) => n + p.rssPages, 0) * PAGE_SIZE, ...counts(procs) };
  }
}

/** FilesystemPosixIsolator: the sandbox on the host's filesystem; nothing beyond what the containerizer does. */
export class FilesystemPosixIsolator extends NoopIsolator {
  readonly name = 'filesystem/posix';
}

/** builtinIsolator makes a built-in isolator by name. */
export function builtinIsolator(name: BuiltinIsolatorName): Isolator {
  switch (name) {
    case 'posix/cpu':
      return new PosixCpuIsolator();
    case 'posix/mem':
      return new PosixMemIsolator();
    case 'filesystem/posix':
      return new FilesystemPosixIsolator();
  }
}
