/**
 * Error codes of `@tessera/isolator-gpu`. Each reaches the core unchanged (code in the
 * `tessera-error-code` trailer) and is explained in docs/errors.md and this package's README; a retired
 * code is never reused. Messages name the GPU, file or container involved and who must act.
 *
 * One code is the core's, not this module's: `TSR_TASK_INVALID` (a task asks for a fractional number of
 * GPUs). The framework must fix the task, so the agent reports TASK_ERROR with REASON_TASK_INVALID.
 */
import { TesseraError } from '@tessera/modules-api';

// gRPC status numbers (grpc.status), spelled out so the package needs no direct @grpc/grpc-js dependency.
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const RESOURCE_EXHAUSTED = 8;
const FAILED_PRECONDITION = 9;
const INTERNAL = 13;

/** GpuErrorCodes catalogues the codes of this module with the gRPC status each travels as. */
export const GpuErrorCodes = {
  GPU_DISCOVERY_FAILED: { status: FAILED_PRECONDITION, text: 'nvidia-smi answered something that is not the GPU list it was asked for, or timed out.' },
  GPU_DEVICES_INVALID: { status: INVALID_ARGUMENT, text: 'The operator\'s `devices` list names a GPU twice, or one that discovery did not find (or, without a driver, whose device node is missing).' },
  GPU_CGROUP_UNSUPPORTED: { status: FAILED_PRECONDITION, text: 'No cgroup v1 devices hierarchy: cgroup v2 needs an eBPF device program, which this module does not load.' },
  GPU_CGROUP_NOT_WRITABLE: { status: FAILED_PRECONDITION, text: 'The devices cgroup root cannot be created or written (not root, read-only mount).' },
  GPU_DEVICES_CONFLICT: { status: FAILED_PRECONDITION, text: "A container's devices cgroup grants every NVIDIA device (e.g. the cgroups module's allowed_devices has \"c 195:* rwm\"), so GPUs cannot be kept apart." },
  GPU_ALREADY_PREPARED: { status: ALREADY_EXISTS, text: 'Prepare of a container this module has already prepared.' },
  GPU_UNKNOWN_CONTAINER: { status: NOT_FOUND, text: 'Isolate, Update, Usage or Status named a container this module does not hold.' },
  GPU_UNAVAILABLE: { status: RESOURCE_EXHAUSTED, text: 'A container asks for more GPUs than are free and healthy on this agent.' },
  GPU_CHECKPOINT_FAILED: { status: INTERNAL, text: 'The assignment checkpoint in the state directory cannot be written.' },
  GPU_ISOLATION_FAILED: { status: INTERNAL, text: "A container's devices cgroup could not be made, written, joined or removed." },
} as const;

/** GpuErrorCode is one of the codes in {@link GpuErrorCodes}. */
export type GpuErrorCode = keyof typeof GpuErrorCodes;

/** gpuError makes the TesseraError of a code, travelling with the catalogued gRPC status. */
export function gpuError(code: GpuErrorCode, message: string, cause?: unknown): TesseraError {
  return new TesseraError(code, message, { grpcStatus: GpuErrorCodes[code].status, cause });
}

/**
 * TASK_INVALID is the core's code for "the task itself is wrong" (docs/errors.md): the agent turns a
 * Prepare error with it into TASK_ERROR / REASON_TASK_INVALID instead of TASK_FAILED.
 */
export const TASK_INVALID = 'TSR_TASK_INVALID';

/** taskInvalid is the error for a task the framework must fix (a fractional GPU request). */
export function taskInvalid(message: string): TesseraError {
  return new TesseraError(TASK_INVALID, message, { grpcStatus: INVALID_ARGUMENT });
}

/** errnoText renders a Node system error as "EACCES (permission denied)" for messages (the cgroups module's). */
export { errnoText } from '@tessera/isolator-cgroups';
