/**
 * CgroupDriver is what the isolator needs of a cgroup hierarchy; V1Driver (one hierarchy per
 * controller) and V2Driver (unified, `<root>/<id>/leaf`) implement it. Every method names container
 * cgroups by container id only: the driver knows the mounts and the root, read once at Configure.
 */
import type { ResourceStatistics } from '@tessera/modules-api';
import type { Subsystem } from '../parameters';
import type { DeviceRule } from './devices';
import type { Limits } from './limits';

/** DriverOptions are the settings a driver applies to every container. */
export interface DriverOptions {
  /** The cgroup name holding the containers' cgroups, e.g. "tessera". */
  root: string;
  /** Subsystems isolated (already checked against the host). */
  subsystems: readonly Subsystem[];
  cpuQuota: boolean;
  memorySwap: boolean;
  /** undefined: no pids limit. */
  pidsMax: number | undefined;
  /** Allowed devices on top of deny-all (default list plus the operator's). */
  devices: readonly DeviceRule[];
}

/** OomReport is what a memory limitation says: the message and the peak usage. */
export interface OomReport {
  peakBytes: number | undefined;
  /** The top of memory.stat, one "key value" per line. */
  statistics: string;
}

/** CgroupDriver creates, limits, reads, empties and removes container cgroups on one hierarchy layout. */
export interface CgroupDriver {
  /** 1 or 2. */
  readonly version: 1 | 2;
  /** What is used where, for the Configure log line. */
  describe(): string;
  /** setup creates the root cgroups (and enables v2 controllers); throws coded errors naming the path. */
  setup(): string[];
  /** list answers the container ids that have a cgroup under the root. */
  list(): string[];
  /** exists tells whether a container's cgroup exists (in any hierarchy). */
  exists(id: string): boolean;
  /** create makes a container's cgroups; an existing empty one is reused, one with processes refused. */
  create(id: string): void;
  /**
   * apply writes limits; `first` at prepare (pids and devices are written only then, and a hard memory
   * limit is lowered only then: later it is only raised, as Mesos does, so an update cannot OOM-kill).
   */
  apply(id: string, limits: Limits, first: boolean): void;
  /** place moves a process (and so its future children) into the container's cgroups. */
  place(id: string, pid: number): void;
  /** pids lists the processes in the container's cgroups (all hierarchies, sub-cgroups included). */
  pids(id: string): number[];
  /** usage reads the statistics; cheap (a handful of small reads). */
  usage(id: string): ResourceStatistics;
  /** oomFile is the file whose "oom_kill" counter says the container was OOM-killed; undefined without memory. */
  oomFile(id: string): string | undefined;
  /** pidsMaxHits is how often a fork or clone failed on the container's pids.max (pids.events "max"); undefined without pids. */
  pidsMaxHits(id: string): number | undefined;
  /** oomReport reads the peak usage and memory.stat for a limitation message. */
  oomReport(id: string): OomReport;
  /** paths maps each controller to the container's cgroup path inside its hierarchy, for ContainerStatus. */
  paths(id: string): Record<string, string>;
  /** kill kills every process in the container's cgroups, also those nobody knows of; throws when some survive. */
  kill(id: string, timeoutMs: number): Promise<void>;
  /** remove removes the container's cgroups (retrying EBUSY briefly). */
  remove(id: string): Promise<void>;
}

/** parseOomKills reads the OOM-kill count from memory.oom_control (v1) or memory.events (v2). */
export function parseOomKills(text: string): number {
  const kills = /(?:^|\n)oom_kill (\d+)/.exec(text);
  if (kills) return Number(kills[1]);
  // Kernels before 4.13 have no oom_kill counter in v1: an OOM in progress shows as under_oom 1.
  const under = /(?:^|\n)under_oom (\d+)/.exec(text);
  return under ? Number(under[1]) : 0;
}

/** parsePidsEvents reads the "max" counter of pids.events: forks refused by pids.max. */
export function parsePidsEvents(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /(?:^|\n)max (\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}
