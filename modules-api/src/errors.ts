/**
 * Errors of the module ABI: every error a user can see has a stable code and a message that says
 * who must act and how. Codes are listed in docs/errors.md; a retired code is never reused.
 *
 * Errors cross the gRPC boundary as a gRPC status whose details are the message, with the code in
 * the `tessera-error-code` trailer; {@link TesseraError.fromGrpc} turns them back into the same error.
 */
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';

/** AbiErrorCodes catalogues the codes of `@tessera/modules-api` with the gRPC status each travels as. */
export const AbiErrorCodes = {
  TSR_MODULE_SPAWN_FAILED: { status: GrpcStatus.UNAVAILABLE, text: 'The module process could not be started.' },
  TSR_HANDSHAKE_GARBAGE: { status: GrpcStatus.UNAVAILABLE, text: 'The module printed something on stdout before its handshake line.' },
  TSR_HANDSHAKE_TIMEOUT: { status: GrpcStatus.DEADLINE_EXCEEDED, text: 'The module printed no handshake line within the start timeout.' },
  TSR_HANDSHAKE_BAD_LINE: { status: GrpcStatus.UNAVAILABLE, text: 'The handshake line is malformed or of an unknown handshake version.' },
  TSR_HANDSHAKE_NOT_LISTENING: { status: GrpcStatus.UNAVAILABLE, text: 'The module printed its handshake line, but nothing listens on the socket it names.' },
  TSR_MODULE_EXITED: { status: GrpcStatus.UNAVAILABLE, text: 'The module process exited while the core needed it.' },
  TSR_MODULE_UNAVAILABLE: { status: GrpcStatus.UNAVAILABLE, text: 'The module is not running (crashed, restarting or stopped).' },
  TSR_ABI_NO_OVERLAP: { status: GrpcStatus.FAILED_PRECONDITION, text: "No ABI version lies in both the core's and the module's range." },
  TSR_ABI_KIND_MISSING: { status: GrpcStatus.FAILED_PRECONDITION, text: 'The module does not implement the kind it is used as.' },
  TSR_ABI_NEWER_THAN_NEGOTIATED: { status: GrpcStatus.FAILED_PRECONDITION, text: 'A call or field newer than the negotiated ABI version was requested.' },
  TSR_BAD_MODULE_INFO: { status: GrpcStatus.INVALID_ARGUMENT, text: 'GetInfo answered something unusable (no name, bad semver, bad schema).' },
  TSR_PARAMETERS_INVALID: { status: GrpcStatus.INVALID_ARGUMENT, text: "The operator's parameters fail the module's own schema." },
  TSR_UNAUTHENTICATED: { status: GrpcStatus.UNAUTHENTICATED, text: 'A call did not carry the token the module was started with.' },
  TSR_NOT_CONFIGURED: { status: GrpcStatus.FAILED_PRECONDITION, text: 'A kind call arrived before Configure.' },
  TSR_UNIMPLEMENTED: { status: GrpcStatus.UNIMPLEMENTED, text: 'The module does not implement this call; check its capabilities.' },
  TSR_CALL_TIMEOUT: { status: GrpcStatus.DEADLINE_EXCEEDED, text: 'A call did not finish within its deadline.' },
  TSR_INVALID_ARGUMENT: { status: GrpcStatus.INVALID_ARGUMENT, text: 'A request lacks a required field or has a bad value.' },
  TSR_HANDLER_FAILED: { status: GrpcStatus.INTERNAL, text: "The module's handler threw an error without a code." },
} as const;

/** AbiErrorCode is one of the codes in {@link AbiErrorCodes}. */
export type AbiErrorCode = keyof typeof AbiErrorCodes;

const CODE_KEY = 'tessera-error-code';

/**
 * TesseraError is the error type of Tessera: a stable `code` and a message for the person who must act.
 *
 * ```ts
 * throw new TesseraError('TSR_INVALID_ARGUMENT', 'prepare: container_id is required');
 * ```
 * A module may use codes of its own (e.g. `CGROUPS_NOT_WRITABLE`); they reach the core unchanged.
 */
export class TesseraError extends Error {
  /** code is the stable error code, e.g. TSR_ABI_NO_OVERLAP. */
  readonly code: string;
  /** grpcStatus is the gRPC status code the error travels as. */
  readonly grpcStatus: GrpcStatus;

  constructor(code: string, message: string, options?: { grpcStatus?: GrpcStatus; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TesseraError';
    this.code = code;
    this.grpcStatus =
      options?.grpcStatus ?? (AbiErrorCodes as Record<string, { status: GrpcStatus }>)[code]?.status ?? GrpcStatus.UNKNOWN;
  }

  /** toGrpc turns the error into a gRPC ServiceError for a server handler's callback. */
  toGrpc(): Partial<ServiceError> {
    const metadata = new Metadata();
    metadata.set(CODE_KEY, this.code);
    return { code: this.grpcStatus, details: this.message, metadata };
  }

  /** fromGrpc turns a gRPC error from a module back into the TesseraError the module threw. */
  static fromGrpc(err: ServiceError, context: string): TesseraError {
    const sent = err.metadata?.get(CODE_KEY)[0];
    const code = typeof sent === 'string' ? sent : codeForStatus(err.code);
    return new TesseraError(code, `${context}: ${err.details || err.message}`, { grpcStatus: err.code, cause: err });
  }

  /** wrap makes any thrown value a TesseraError, keeping its code when it has one. */
  static wrap(err: unknown, fallbackCode: string = 'TSR_HANDLER_FAILED'): TesseraError {
    if (err instanceof TesseraError) return err;
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e?.code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(e.code) ? e.code : fallbackCode;
    const message = typeof e?.message === 'string' ? e.message : String(err);
    return new TesseraError(code, message, { cause: err });
  }
}

function codeForStatus(status: GrpcStatus): string {
  switch (status) {
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 'TSR_CALL_TIMEOUT';
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.CANCELLED:
      return 'TSR_MODULE_UNAVAILABLE';
    case GrpcStatus.UNIMPLEMENTED:
      return 'TSR_UNIMPLEMENTED';
    case GrpcStatus.UNAUTHENTICATED:
      return 'TSR_UNAUTHENTICATED';
    case GrpcStatus.INVALID_ARGUMENT:
      return 'TSR_INVALID_ARGUMENT';
    default:
      return 'TSR_HANDLER_FAILED';
  }
}
