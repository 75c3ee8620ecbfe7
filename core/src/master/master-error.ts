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

/**
 * SubscriptionRefused is a SUBSCRIBE the master refuses as Mesos does (`refuseSubscription`): the
 * stream opens (200) and carries one ERROR event with the message, then ends. Mesos's v1 clients hand
 * that ERROR to the scheduler; an HTTP error would read as a transport failure and be retried.
 */
export class SubscriptionRefused extends MasterError {
  constructor(message: string) {
    super(200, message);
    this.name = 'SubscriptionRefused';
  }
}
