/**
 * What the module knows of one GPU, whichever way it was found (nvidia-smi, or an operator's list of
 * device nodes when no driver answers).
 */

/** NVIDIA_MAJOR is the character-device major of every NVIDIA GPU node and of /dev/nvidiactl. */
export const NVIDIA_MAJOR = 195;
/** NVIDIACTL_MINOR is /dev/nvidiactl's minor; every GPU container needs it. */
export const NVIDIACTL_MINOR = 255;
/**
 * HIGHEST_GPU_MINOR is the last minor a GPU node can have: the driver numbers GPUs from 0 and keeps
 * 254 (nvidia-modeset) and 255 (nvidiactl) for itself.
 */
export const HIGHEST_GPU_MINOR = 254;

/** Health is a GPU's health as the ABI's Device.Health spells it. */
export type Health = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

/** Gpu is one NVIDIA GPU of this host. */
export interface Gpu {
  /** NVML / nvidia-smi index (PCI bus order). Without a driver, the operator's number (= minor). */
  index: number;
  /** Minor number of /dev/nvidia<minor> (major 195). */
  minor: number;
  /** UUID such as "GPU-5d8e0d5c-...", when a driver reported it. */
  uuid?: string;
  /** Product name, e.g. "NVIDIA A100-SXM4-40GB". */
  name?: string;
  /** Total memory in MiB. */
  memoryMiB?: number;
  /** PCI bus id as nvidia-smi prints it, e.g. "00000000:07:00.0". */
  pciBusId?: string;
  health: Health;
  /** Why the GPU is UNHEALTHY (or UNKNOWN), for logs and the Device attributes. */
  healthReason?: string;
}

/** gpuLabel names a GPU in messages: "GPU 1 (minor 1, GPU-4f1c...)". */
export function gpuLabel(g: Pick<Gpu, 'index' | 'minor' | 'uuid'>): string {
  return `GPU ${g.index} (minor ${g.minor}${g.uuid ? `, ${g.uuid}` : ''})`;
}

/** gpuId is how a GPU is named to containers: its UUID when known, else its index. */
export function gpuId(g: Pick<Gpu, 'index' | 'uuid'>): string {
  return g.uuid ?? String(g.index);
}
