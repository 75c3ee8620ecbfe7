/**
 * Error codes of `@tessera/isolator-cgroups`. Each reaches the core unchanged (code in the
 * `tessera-error-code` trailer) and is explained in docs/errors.md and this package's README; a retired
 * code is never reused. Messages name the cgroup path involved and who must act.
 */
import { TesseraError } from '@tessera/modules-api';

// gRPC status numbers (grpc.status), spelled out so the package needs no direct @grpc/grpc-js dependency.
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const INTERNAL = 13;

/** CgroupsErrorCodes catalogues the codes of this module with the gRPC status each travels as. */
export const CgroupsErrorCodes = {
  CGROUPS_NOT_WRITABLE: { status: FAILED_PRECONDITION, text: 'The cgroup hierarchy cannot be written: not root, a read-only mount, or permission denied on the path named.' },
  CGROUPS_NO_HIERARCHY: { status: FAILED_PRECONDITION, text: 'No cgroup file system of the wanted version is mounted (or cgroup_root does not exist).' },
  CGROUPS_CONTROLLER_MISSING: { status: FAILED_PRECONDITION, text: 'A subsystem asked for in `subsystems` has no controller on this host (not mounted on v1, not available on v2).' },
  CGROUPS_DEVICES_UNSUPPORTED: { status: FAILED_PRECONDITION, text: 'The devices subsystem was asked for on cgroup v2, where it needs an eBPF program this module does not load.' },
  CGROUPS_ALREADY_PREPARED: { status: ALREADY_EXISTS, text: 'Prepare of a container that is already prepared.' },
  CGROUPS_CGROUP_BUSY: { status: ALREADY_EXISTS, text: "A container's cgroup already exists and holds processes." },
  CGROUPS_UNKNOWN_CONTAINER: { status: NOT_FOUND, text: 'A call named a container this module has not prepared (or already cleaned up).' },
  CGROUPS_INVALID_CONTAINER_ID: { status: INVALID_ARGUMENT, text: 'A container id that cannot be a cgroup name (empty, ".", "..", contains "/").' },
  CGROUPS_PREPARE_FAILED: { status: INTERNAL, text: "A container's cgroup could not be made or its limits written." },
  CGROUPS_ISOLATE_FAILED: { status: FAILED_PRECONDITION, text: 'The process could not be moved into the container cgroups (it exited, or the cgroup is gone).' },
  CGROUPS_UPDATE_FAILED: { status: INTERNAL, text: "New limits could not be written to a container's cgroup." },
  CGROUPS_CLEANUP_FAILED: { status: INTERNAL, text: 'Processes of a container survived being killed, or its cgroup could not be removed.' },
  CGROUPS_READ_FAILED: { status: INTERNAL, text: "A container's statistics could not be read (its cgroup vanished)." },
} as const;

/** CgroupsErrorCode is one of the codes in {@link CgroupsErrorCodes}. */
export type CgroupsErrorCode = keyof typeof CgroupsErrorCodes;

/** cgroupsError makes the TesseraError of a code, travelling with the catalogued gRPC status. */
export function cgroupsError(code: CgroupsErrorCode, message: string, cause?: unknown): TesseraError {
  return new TesseraError(code, message, { grpcStatus: CgroupsErrorCodes[code].status, cause });
}

/** errnoText renders a Node system error as "EACCES (permission denied)" for messages. */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string') return String((e as Error)?.message ?? err);
  const why = ERRNO_WORDS[e.code];
  return why ? `${e.code} (${why})` : `${e.code}${e.message ? ` (${e.message})` : ''}`;
}

const ERRNO_WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such file or directory',
  EBUSY: 'device or resource busy',
  ESRCH: 'no such process',
  EINVAL: 'invalid argument',
  ENOSPC: 'no space left: cgroup limits reached',
  EEXIST: 'already exists',
  ENOTSUP: 'not supported',
  EOPNOTSUPP: 'not supported',
  ENODEV: 'the cgroup was removed',
};
