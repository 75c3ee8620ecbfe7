/**
 * MasterError is a refusal of an HTTP API call, with the status Mesos answers and a message that says
 * what is wrong with the call (and, where it helps, what to send instead).
 */
import { TesseraError } from '@tessera/modules-api';

/** MasterError carries the HTTP status of a refused call. */
export class MasterError extends TesseraError {
  /** Creates the error; `status` is the HTTP status (400, 403, 404, 409...). */
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('TSR_INVALID_ARGUMENT', message);
    this.name = 'MasterError';
  }
}
