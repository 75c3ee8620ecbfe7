import protobuf from 'protobufjs';
import { decodeJson } from './json-codec';
import { decodeProto, encodeProto } from './proto-codec';
import { lookupType, type PlainMessage } from './mesos-types';
import { WireError } from './wire-error';

const CALL = 'mesos.v1.scheduler.Call';


function decodeError(typeName: string, bytes: Uint8Array): WireError {
  try {
    decodeProto(typeName, bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(WireError);
    return err as WireError;
  }
  throw new Error('decodeProto did not fail');
}

const ACCEPT = decodeJson<PlainMessage>(CALL, {
  framework_id: { value: 'M-0000' },
  type: 'ACCEPT',
  accept: {
    offer_ids: [{ value: 'M-O1' }],
    operations: [
      {
        type: 'LAUNCH',
        launch: {
          task_infos: [
            {
              name: 'web',
              task_id: { value: 't1' },
              agent_id: { value: 'M-S0' },
              resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } }],
              command: { value: 'sleep 10' },
              kill_policy: { grace_period: { nanoseconds: 3e9 } },
              data: 'AAEC',
            },
          ],
        },
      },
    ],
    filters: { refuse_seconds: 30 },
  },
});

describe('decodeProto', () => {
  it('names a missing required field with its path', () => {
    // type: SUBSCRIBE, subscribe: { framework_info: { name: 'fw' } }, as a broken client might send it.
    const writer = protobuf.Writer.create();
    writer.uint32((2 << 3) | 0).int32(1);
    writer.uint32((3 << 3) | 2).fork().uint32((1 << 3) | 2).fork().uint32((2 << 3) | 2).string('fw').ldelim().ldelim();
    const err = decodeError(CALL, writer.finish());
    expect(err.message).toBe('mesos.v1.scheduler.Call: subscribe.framework_info.user: required field is missing');
    expect(err.status).toBe(400);
  });

  it('skips unknown fields and drops enum numbers it does not know (proto2)', () => {
    const writer = protobuf.Writer.create();
    writer.uint32((2 << 3) | 0).int32(77); // type = 77
    writer.uint32((99 << 3) | 2).string('from a newer Mesos'); // an unknown field
    writer.uint32((98 << 3) | 0).uint64(12345);
    writer.uint32((1 << 3) | 2).fork().uint32(0x0a).string('M-0000').ldelim(); // framework_id
    expect(decodeProto(CALL, writer.finish())).toEqual({ framework_id: { value: 'M-0000' } });
  });

  it('reads packed and unpacked repeated scalars', () => {
    const writer = protobuf.Writer.create();
    writer.uint32((1 << 3) | 0).uint32(8080); // port
    writer.uint32((4 << 3) | 2).fork().uint32(200).uint32(204).ldelim(); // statuses, packed
    writer.uint32((4 << 3) | 0).uint32(301); // statuses, unpacked
    expect(decodeProto('mesos.v1.HealthCheck.HTTPCheckInfo', writer.finish())).toEqual({ port: 8080, statuses: [200, 204, 301] });
  });

  it('keeps 64-bit integers exact up to 2^53 and signed values signed', () => {
    for (const nanoseconds of [0, -5, 2 ** 53, -(2 ** 53), 1700000000000000000]) {
      expect(decodeProto('mesos.v1.TimeInfo', encodeProto('mesos.v1.TimeInfo', { nanoseconds }))).toEqual({ nanoseconds });
    }
    expect(decodeProto('mesos.v1.Value.Range', encodeProto('mesos.v1.Value.Range', { begin: 0, end: 2 ** 53 }))).toEqual({ begin: 0, end: 2 ** 53 });
  });

  it('copies bytes fields out of the input', () => {
    const input = encodeProto(CALL, ACCEPT);
    const decoded = decodeProto<{ accept: { operations: { launch: { task_infos: { data: Buffer }[] } }[] } }>(CALL, input);
    input.fill(0);
    expect(decoded.accept.operations[0].launch.task_infos[0].data.toString('base64')).toBe('AAEC');
  });

  it('refuses truncated input cleanly', () => {
    const bytes = encodeProto(CALL, ACCEPT);
    for (let cut = 1; cut < bytes.length; cut++) {
      try {
        decodeProto(CALL, bytes.subarray(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(WireError);
      }
    }
    const err = decodeError(CALL, bytes.subarray(0, bytes.length - 3));
    expect(err.message).toMatch(/^mesos\.v1\.scheduler\.Call: accept: malformed protobuf: a \d+-byte message overruns the input$/);
    expect(err.path).toBe('accept');
  });

  it('refuses nesting deeper than 100 levels', () => {
    let inner: Uint8Array = encodeProto('mesos.v1.ContainerID', { value: 'c' });
    for (let i = 0; i < 150; i++) {
      const writer = protobuf.Writer.create();
      writer.uint32(0x0a).string(`c${i}`).uint32(0x12).bytes(inner);
      inner = writer.finish();
    }
    expect(decodeError('mesos.v1.ContainerID', inner).message).toContain('nest deeper than 100');
  });

  it('never fails with anything but a WireError on 2,000 random and mutated inputs', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const valid = encodeProto(CALL, ACCEPT);
    const outcomes = { decoded: 0, refused: 0 };
    for (let i = 0; i < 2000; i++) {
      let input: Buffer;
      if (i % 2 === 0) {
        input = Buffer.alloc(Math.floor(random() * 64));
        for (let j = 0; j < input.length; j++) input[j] = Math.floor(random() * 256);
      } else {
        input = Buffer.from(valid);
        for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
      }
      try {
        decodeProto(CALL, input);
        outcomes.decoded++;
      } catch (err) {
        if (!(err instanceof WireError)) throw new Error(`input ${input.toString('hex')} failed with ${String(err)}`);
        expect(err.status).toBe(400);
        outcomes.refused++;
      }
    }
    expect(outcomes.decoded + outcomes.refused).toBe(2000);
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});

describe('encodeProto', () => {
  it('refuses a message built wrong with status 500 and the path', () => {
    let caught: unknown;
    try {
      encodeProto(CALL, { type: 'KILL', kill: { agent_id: { value: 'S0' } } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(WireError);
    expect((caught as WireError).status).toBe(500);
    expect((caught as WireError).message).toBe('mesos.v1.scheduler.Call: kill.task_id: required field is missing');
    expect(() => encodeProto('mesos.v1.Value.Range', { begin: 1.5, end: 2 })).toThrow(/begin: expected a non-negative integer \(uint64\), got number 1.5/);
    expect(() => encodeProto('mesos.v1.TaskStatus', { task_id: { value: 't' }, state: 'RUNNING' })).toThrow(/state: expected one of TASK_STAGING/);
  });

  it('writes maps as map entries', () => {
    const limits = { cpus: { value: 2 }, mem: { value: 512 } };
    const task = { name: 't', task_id: { value: 't' }, agent_id: { value: 'S0' }, limits };
    const bytes = encodeProto('mesos.v1.TaskInfo', task);
    expect(lookupType('mesos.v1.TaskInfo').toObject(lookupType('mesos.v1.TaskInfo').decode(bytes)).limits).toEqual(limits);
    expect(decodeProto('mesos.v1.TaskInfo', bytes)).toEqual(task);
  });
});
