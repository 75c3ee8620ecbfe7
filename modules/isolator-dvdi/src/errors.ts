/**
 * Error codes of `@tessera/isolator-dvdi`: the isolator module's own codes (with the gRPC status each
 * travels as) and, re-exported, those of the `tessera-volume-local` plugin. All are explained in
 * docs/errors.md; a retired code is never reused.
 *
 * ```ts
 * throw dvdiError('DVDI_VOLUME_INVALID', 'volume 0 of container c1: name "a;b" ...');
 * ```
 */
import { TesseraError } from '@tessera/modules-api';

// gRPC status numbers (grpc-js `status`), written out so this table needs no gRPC import.
const INVALID_ARGUMENT = 3;
const DEADLINE_EXCEEDED = 4;
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const INTERNAL = 13;

/** DvdiErrorCodes catalogues the isolator module's codes with the gRPC status each travels as. */
export const DvdiErrorCodes = {
  DVDI_PLUGIN_NOT_FOUND: { status: FAILED_PRECONDITION, text: 'No socket, .spec or .json file names the volume driver, and the drivers parameter does not either.' },
  DVDI_PLUGIN_SPEC_INVALID: { status: FAILED_PRECONDITION, text: "A driver's .spec/.json file or drivers entry does not hold a usable address." },
  DVDI_PLUGIN_UNAVAILABLE: { status: FAILED_PRECONDITION, text: 'The volume driver does not answer at its address (connection refused or reset, socket gone).' },
  DVDI_PLUGIN_TIMEOUT: { status: DEADLINE_EXCEEDED, text: 'The volume driver did not answer within plugin_timeout, or the core cancelled the call.' },
  DVDI_PLUGIN_ERROR: { status: FAILED_PRECONDITION, text: 'The volume driver answered with an error (its "Err" text is quoted).' },
  DVDI_PLUGIN_BAD_RESPONSE: { status: FAILED_PRECONDITION, text: 'The volume driver answered something that is not the Docker volume plugin protocol.' },
  DVDI_PLUGIN_NOT_VOLUME_DRIVER: { status: FAILED_PRECONDITION, text: '/Plugin.Activate of the driver does not list VolumeDriver.' },
  DVDI_VOLUME_INVALID: { status: INVALID_ARGUMENT, text: 'A requested volume has a bad driver, name, option, mode or container path (legacy DVDI_VOLUME_* variables included).' },
  DVDI_VOLUME_DUPLICATE: { status: INVALID_ARGUMENT, text: 'One container asks for the same driver/name, or the same container path, twice.' },
  DVDI_CONTAINER_PATH_MISSING: { status: FAILED_PRECONDITION, text: 'An absolute container_path does not exist on a container without its own root filesystem.' },
  DVDI_ALREADY_PREPARED: { status: ALREADY_EXISTS, text: 'Prepare of a container the module already prepared (and did not clean up).' },
  DVDI_NO_STATE_DIR: { status: FAILED_PRECONDITION, text: 'Volumes were requested, but the module has no state directory to checkpoint them in.' },
  DVDI_CHECKPOINT_FAILED: { status: INTERNAL, text: 'A checkpoint in the state directory cannot be written or read.' },
  DVDI_CLEANUP_FAILED: { status: FAILED_PRECONDITION, text: 'Cleanup could not unmount some volumes at their drivers; they stay checkpointed for a retry.' },
} as const;

/** DvdiErrorCode is one of {@link DvdiErrorCodes}. */
export type DvdiErrorCode = keyof typeof DvdiErrorCodes;

/** dvdiError makes the TesseraError of a module code, travelling with the code's gRPC status. */
export function dvdiError(code: DvdiErrorCode, message: string, cause?: unknown): TesseraError {
  return new TesseraError(code, message, { grpcStatus: DvdiErrorCodes[code].status, cause });
}

export { VolumeLocalErrorCodes, type VolumeLocalErrorCode } from './plugin/plugin-errors';
