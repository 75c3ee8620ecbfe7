/**
 * The GPUs this module manages: what nvidia-smi found, narrowed to the operator's `devices` list when
 * given (Mesos's --nvidia_gpu_devices), or — with no driver to ask — the operator's list checked against
 * the device nodes. Health polls refresh the same list later ({@link refreshHealth}); the set of GPUs
 * never changes after Configure.
 *
 * ```ts
 * const inv = selectGpus(await discover(opts), [1, 'GPU-5d8e...'], '/dev');   // throws GPU_DEVICES_INVALID
 * inv.gpus;   // the two GPUs, in index order
 * ```
 */
import { gpuError } from '../errors';
import { gpuNode, nodeNumbers } from './device-nodes';
import { gpuLabel, NVIDIA_MAJOR, type Gpu } from './gpu';
import type { Discovery } from './discover';
import { sameBus } from './nvidia-smi';

/** DeviceRef is one entry of the `devices` parameter: an index (a minor without a driver) or a UUID. */
export type DeviceRef = number | string;

/** Inventory is the managed GPUs and how they were found. */
export interface Inventory {
  gpus: Gpu[];
  /** nvidia-smi: found by discovery; device-nodes: operator list checked against /dev; none: no GPUs. */
  source: 'nvidia-smi' | 'device-nodes' | 'none';
  /** What Configure should log about how the list came about. */
  notes: string[];
}

/** selectGpus makes the inventory of a discovery and the operator's list; throws GPU_DEVICES_INVALID. */
export function selectGpus(found: Discovery, requested: DeviceRef[] | undefined, devRoot: string): Inventory {
  const notes: string[] = [];
  if (requested !== undefined) {
    const seen = new Set<string>();
    for (const r of requested) {
      const key = String(r).toLowerCase();
      if (seen.has(key)) throw gpuError('GPU_DEVICES_INVALID', `the devices parameter lists ${JSON.stringify(r)} twice: list each GPU once`);
      seen.add(key);
    }
    if (requested.length === 0) return { gpus: [], source: 'none', notes: ['the devices parameter is empty: GPU discovery is off and no GPUs are offered'] };
  }
  if (found.kind === 'no-driver') {
    if (requested === undefined) return { gpus: [], source: 'none', notes: [`no NVIDIA driver answers (${found.reason}): no GPUs are offered`] };
    notes.push(`no NVIDIA driver answers (${found.reason}): using the devices parameter's GPUs as device nodes under ${devRoot}`);
    return { gpus: requested.map((r) => nodeGpu(r, devRoot)).sort((a, b) => a.index - b.index), source: 'device-nodes', notes };
  }
  for (const lost of found.lost) notes.push(`nvidia-smi cannot reach the GPU at ${lost.pciBusId} (${lost.reason}): it is not offered`);
  if (requested === undefined) {
    if (found.gpus.length === 0) notes.push('nvidia-smi lists no GPUs: none are offered');
    return { gpus: [...found.gpus].sort((a, b) => a.index - b.index), source: found.gpus.length ? 'nvidia-smi' : 'none', notes };
  }
  const chosen = new Map<number, Gpu>();
  for (const r of requested) {
    const g = typeof r === 'number' ? found.gpus.find((x) => x.index === r) : found.gpus.find((x) => x.uuid?.toLowerCase() === r.toLowerCase());
    if (!g) {
      const listed = found.gpus.map((x) => `${x.index}${x.uuid ? ` (${x.uuid})` : ''}`).join(', ') || 'none';
      const said = found.warnings.length ? ` (discovery also said: ${found.warnings.join('; ')})` : '';
      throw gpuError('GPU_DEVICES_INVALID', `the devices parameter names GPU ${JSON.stringify(r)}, which nvidia-smi does not list (it lists: ${listed}): fix the devices parameter${said}`);
    }
    if (chosen.has(g.index)) throw gpuError('GPU_DEVICES_INVALID', `the devices parameter names ${gpuLabel(g)} twice (by index and by UUID): list each GPU once`);
    chosen.set(g.index, g);
  }
  notes.push(`offering the GPUs the devices parameter lists: ${[...chosen.keys()].sort((a, b) => a - b).join(', ')}`);
  return { gpus: [...chosen.values()].sort((a, b) => a.index - b.index), source: 'nvidia-smi', notes };
}

// A GPU known only by its device node (no driver): index = minor, health unknown (not a reason to refuse it).
function nodeGpu(r: DeviceRef, devRoot: string): Gpu {
  if (typeof r !== 'number') {
    throw gpuError('GPU_DEVICES_INVALID', `the devices parameter names GPU ${JSON.stringify(r)} by UUID, but no NVIDIA driver answers to say which GPU that is: list minor numbers, or load the driver`);
  }
  const node = gpuNode(devRoot, r);
  const numbers = nodeNumbers(node);
  if (!numbers) throw gpuError('GPU_DEVICES_INVALID', `the devices parameter names GPU ${r}, but ${node} is not a character device node: create it (mknod ${node} c ${NVIDIA_MAJOR} ${r}), load the driver, or fix the devices parameter`);
  if (numbers.major !== NVIDIA_MAJOR || numbers.minor !== r) {
    throw gpuError('GPU_DEVICES_INVALID', `${node} is device ${numbers.major}:${numbers.minor}, not the NVIDIA GPU ${NVIDIA_MAJOR}:${r}: fix the node or the devices parameter`);
  }
  return { index: r, minor: r, health: 'UNKNOWN', healthReason: 'no driver to ask' };
}

/**
 * refreshHealth returns the managed GPUs with the health a new discovery gives them: a GPU nvidia-smi
 * no longer lists, or lists as lost, is UNHEALTHY; with no driver left, every GPU is. Device-node GPUs
 * are UNHEALTHY once their node is gone.
 */
export function refreshHealth(gpus: readonly Gpu[], found: Discovery | undefined, source: Inventory['source'], devRoot: string): Gpu[] {
  return gpus.map((g): Gpu => {
    const base = { ...g };
    delete base.healthReason;
    if (source === 'device-nodes') {
      const n = nodeNumbers(gpuNode(devRoot, g.minor));
      return n && n.major === NVIDIA_MAJOR && n.minor === g.minor ? { ...base, health: 'UNKNOWN', healthReason: 'no driver to ask' } : { ...base, health: 'UNHEALTHY', healthReason: `${gpuNode(devRoot, g.minor)} is gone` };
    }
    if (!found) return g;
    if (found.kind === 'no-driver') return { ...base, health: 'UNHEALTHY', healthReason: `the driver stopped answering: ${found.reason}` };
    const now = found.gpus.find((x) => (g.uuid ? x.uuid === g.uuid : x.minor === g.minor));
    if (now) return { ...base, health: now.health, ...(now.healthReason && { healthReason: now.healthReason }) };
    const lost = found.lost.find((l) => sameBus(l.pciBusId, g.pciBusId));
    return { ...base, health: 'UNHEALTHY', healthReason: lost ? `nvidia-smi cannot reach it: ${lost.reason}` : 'nvidia-smi no longer lists it' };
  });
}
