/**
 * The error of the Mesos wire layer and the field paths its messages name.
 */
import { TesseraError } from '../../errors';

/**
 * WireError reports a Mesos v1 message that cannot be decoded or encoded. Its message names the message
 * type and the JSON path of the offending field, so that whoever sent it can fix it:
 *
 * ```ts
 * try {
 *   decodeJson('mesos.v1.scheduler.Call', body);
 * } catch (err) {
 *   if (err instanceof WireError) return { status: err.status, body: err.message };
 *   // "mesos.v1.scheduler.Call: subscribe.framework_info.user: required field is missing"
 *   throw err;
 * }
 * ```
 * Its code is `TSR_INVALID_ARGUMENT`.
 */
export class WireError extends TesseraError {
  /** status is the HTTP status to answer with: 400 for a bad request, 500 for a message the master built wrong. */
  readonly status: number;
  /** path is the JSON path of the offending field (`accept.operations[0].type`), '' for the message itself. */
  readonly path: string | undefined;

  constructor(message: string, options: { status?: number; path?: string; cause?: unknown } = {}) {
    super('TSR_INVALID_ARGUMENT', message, { cause: options.cause });
    this.name = 'WireError';
    this.status = options.status ?? 400;
    this.path = options.path;
  }
}

/**
 * FieldPath tracks where a codec is inside a message (a stack of field names, array indexes and map keys)
 * and turns a problem there into a {@link WireError}. Pushing and popping is cheap; the path is only
 * formatted when something fails.
 */
export class FieldPath {
  private readonly segments: (string | number)[] = [];

  /** typeName is the message type being decoded or encoded; status is the status of the errors made. */
  constructor(
    private readonly typeName: string,
    private readonly status: number,
  ) {}

  /** depth is the number of segments, used to bound nesting. */
  get depth(): number {
    return this.segments.length;
  }

  /** push enters a field (a name), an array element (an index) or a map entry (`{ key }`). */
  push(segment: string | number | { key: string }): void {
    this.segments.push(typeof segment === 'object' ? `[${JSON.stringify(segment.key)}]` : segment);
  }

  /** pop leaves the innermost segment. */
  pop(): void {
    this.segments.pop();
  }

  /** toString formats the path as `subscribe.framework_info.capabilities[0].type`. */
  toString(): string {
    let out = '';
    for (const s of this.segments) {
      if (typeof s === 'number') out += `[${s}]`;
      else if (s.startsWith('[')) out += s;
      else out += out === '' ? s : `.${s}`;
    }
    return out;
  }

  /** error makes the WireError for a problem at the current path. */
  error(problem: string, cause?: unknown): WireError {
    const path = this.toString();
    return new WireError(`${this.typeName}: ${path === '' ? '' : `${path}: `}${problem}`, { status: this.status, path, cause });
  }
}

/** describeValue names a value's JSON type (and a short rendering of a scalar) for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
    case 'number':
    case 'boolean':
      return `${typeof value} ${value}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}
