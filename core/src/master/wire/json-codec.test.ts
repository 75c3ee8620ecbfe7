import { decodeJson, encodeJson } from './json-codec';
import { WireError } from './wire-error';

const CALL = 'mesos.v1.scheduler.Call';

function decodeError(typeName: string, input: string | object): WireError {
  try {
    decodeJson(typeName, input);
  } catch (err) {
    expect(err).toBeInstanceOf(WireError);
    return err as WireError;
  }
  throw new Error('decodeJson did not fail');
}

describe('decodeJson', () => {
  it('names the JSON path of a missing required field', () => {
    const err = decodeError(CALL, '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"fw"}}}');
    expect(err.message).toBe('mesos.v1.scheduler.Call: subscribe.framework_info.user: required field is missing');
    expect(err.path).toBe('subscribe.framework_info.user');
    expect(err.status).toBe(400);
    expect(err.code).toBe('TSR_INVALID_ARGUMENT');
  });

  it('takes infinity as text in floating-point fields (an unlimited limit), and writes it back as "Infinity"', () => {
    const task = { name: 't', task_id: { value: 't' }, agent_id: { value: 'a' }, limits: { cpus: { value: 'Infinity' }, mem: { value: 'inf' } } };
    const decoded = decodeJson('mesos.v1.TaskInfo', task) as { limits: Record<string, { value: number }> };
    expect(decoded.limits.cpus.value).toBe(Infinity);
    expect(decoded.limits.mem.value).toBe(Infinity);
    expect(JSON.parse(encodeJson('mesos.v1.TaskInfo', decoded)).limits).toEqual({ cpus: { value: 'Infinity' }, mem: { value: 'Infinity' } });
    // Only floating-point fields: an integer field still refuses it.
    expect(decodeError(CALL, { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n' } }, framework_id: { value: 'x' }, kill: { task_id: { value: 't' }, kill_policy: { grace_period: { nanoseconds: 'Infinity' } } } }).message).toMatch(/nanoseconds: expected an integer/);
  });

  it('names array indexes in paths', () => {
    const task = (id: string, agent?: string) => ({ name: id, task_id: { value: id }, ...(agent ? { agent_id: { value: agent } } : {}) });
    const body = { type: 'ACCEPT', accept: { operations: [{ type: 'LAUNCH', launch: { task_infos: [task('a', 'S0'), task('b')] } }] } };
    expect(decodeError(CALL, body).path).toBe('accept.operations[0].launch.task_infos[1].agent_id');
  });

  it('treats null as unset, and a null required field as missing', () => {
    const call = decodeJson(CALL, '{"type":"DECLINE","framework_id":null,"decline":{"offer_ids":[{"value":"M-O1"}],"filters":null}}');
    expect(call).toEqual({ type: 'DECLINE', decline: { offer_ids: [{ value: 'M-O1' }] } });
    expect(decodeError(CALL, '{"type":"KILL","kill":{"task_id":null}}').path).toBe('kill.task_id');
  });

  it('ignores unknown fields, camelCase names included', () => {
    const call = decodeJson(CALL, {
      type: 'KILL',
      kill: { taskId: { value: 'ignored' }, task_id: { value: 't1', extra: [1, 2] }, killPolicy: {} },
      frameworkId: { value: 'ignored' },
      bogus: { deeply: { nested: true } },
    });
    expect(call).toEqual({ type: 'KILL', kill: { task_id: { value: 't1' } } });
    expect(decodeError(CALL, '{"type":"SUBSCRIBE","subscribe":{"frameworkInfo":{"user":"u","name":"n"}}}').path).toBe('subscribe.framework_info');
  });

  it('takes enum names and numbers', () => {
    expect(decodeJson(CALL, '{"type":3}')).toEqual({ type: 'ACCEPT' });
    expect(decodeJson('mesos.v1.TaskStatus', '{"task_id":{"value":"t"},"state":1,"reason":8}')).toMatchObject({
      state: 'TASK_RUNNING',
      reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
    });
  });

  it('drops enum values it does not know from optional and repeated fields, as Mesos does', () => {
    expect(decodeJson(CALL, '{"type":"FROM_THE_FUTURE"}')).toEqual({});
    expect(decodeJson(CALL, '{"type":99}')).toEqual({});
    const info = decodeJson('mesos.v1.FrameworkInfo', '{"user":"u","name":"n","capabilities":[{"type":"FUTURE"},{"type":"MULTI_ROLE"}]}');
    expect(info).toEqual({ user: 'u', name: 'n', capabilities: [{}, { type: 'MULTI_ROLE' }] });
    expect(decodeJson('mesos.v1.CapabilityInfo', '{"capabilities":["CHOWN","FUTURE",1001]}')).toEqual({ capabilities: ['CHOWN', 'DAC_OVERRIDE'] });
    expect(decodeJson('mesos.v1.CapabilityInfo', '{"capabilities":["FUTURE"]}')).toEqual({});
  });

  it('refuses an unknown value of a required enum, and non-enum JSON types, with the names it knows', () => {
    expect(decodeError('mesos.v1.TaskStatus', '{"task_id":{"value":"t"},"state":"RUNNING"}').message).toMatch(
      /^mesos\.v1\.TaskStatus: state: expected one of TASK_STAGING, TASK_STARTING, TASK_RUNNING, .*, \.\.\. \(mesos\.v1\.TaskState\) or its number, got the string "RUNNING"$/,
    );
    expect(decodeError('mesos.v1.Value', '{"type":7}').path).toBe('type');
    expect(decodeError(CALL, '{"type":3.5}').path).toBe('type');
    expect(decodeError(CALL, '{"type":true}').path).toBe('type');
  });

  it('takes 64-bit integers as numbers or numeric strings', () => {
    expect(decodeJson('mesos.v1.DurationInfo', '{"nanoseconds":"5000000000"}')).toEqual({ nanoseconds: 5000000000 });
    expect(decodeJson('mesos.v1.DurationInfo', '{"nanoseconds":-1}')).toEqual({ nanoseconds: -1 });
    expect(decodeJson('mesos.v1.Value.Range', '{"begin":"31000","end":32000}')).toEqual({ begin: 31000, end: 32000 });
    expect(decodeJson('mesos.v1.Filters', '{"refuse_seconds":"2.5"}')).toEqual({ refuse_seconds: 2.5 });
    expect(decodeError('mesos.v1.DurationInfo', '{"nanoseconds":"12s"}').message).toContain('nanoseconds: expected an integer (int64)');
    expect(decodeError('mesos.v1.DurationInfo', '{"nanoseconds":1.5}').path).toBe('nanoseconds');
    expect(decodeError('mesos.v1.Value.Range', '{"begin":-1,"end":2}').message).toContain('begin: expected a non-negative integer (uint64)');
    expect(decodeError('mesos.v1.Address', '{"port":2147483648}').path).toBe('port');
  });

  it('decodes bytes from base64: an ACKNOWLEDGE uuid is 16 bytes', () => {
    const call = decodeJson<{ acknowledge: { uuid: Buffer } }>(
      CALL,
      '{"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"M-S0"},"task_id":{"value":"t1"},"uuid":"hTaLQ0b5Q1OZuab7QclTKQ=="}}',
    );
    expect(Buffer.isBuffer(call.acknowledge.uuid)).toBe(true);
    expect(call.acknowledge.uuid.toString('hex')).toBe('85368b4346f9435399b9a6fb41c95329');
    expect(JSON.parse(encodeJson(CALL, call)).acknowledge.uuid).toBe('hTaLQ0b5Q1OZuab7QclTKQ==');
    const bad = decodeError(CALL, '{"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"not base64!"}}');
    expect(bad.message).toContain('acknowledge.uuid: expected base64 text');
  });

  it('reports wrong JSON types with the path and what was expected', () => {
    const fw = (extra: object) => ({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n', ...extra } } });
    expect(decodeError(CALL, fw({ failover_timeout: 'soon' })).message).toBe(
      'mesos.v1.scheduler.Call: subscribe.framework_info.failover_timeout: expected a number (a JSON number or a numeric string), got the string "soon"',
    );
    expect(decodeError(CALL, fw({ roles: '*' })).message).toContain('subscribe.framework_info.roles: expected an array, got the string "*"');
    expect(decodeError(CALL, fw({ roles: ['*', 7] })).message).toContain('subscribe.framework_info.roles[1]: expected a string, got number 7');
    expect(decodeError(CALL, fw({ checkpoint: 'yes' })).path).toBe('subscribe.framework_info.checkpoint');
    expect(decodeError(CALL, fw({ id: 'M-0000' })).message).toContain('subscribe.framework_info.id: expected an object (mesos.v1.FrameworkID)');
  });

  it('refuses bodies that are not a JSON object', () => {
    expect(decodeError(CALL, '{"type":').message).toMatch(/^mesos\.v1\.scheduler\.Call: the body is not valid JSON/);
    expect(decodeError(CALL, '[]').message).toBe('mesos.v1.scheduler.Call: expected an object (mesos.v1.scheduler.Call), got an array');
  });

  it('reads UTF-8 bytes', () => {
    expect(decodeJson(CALL, Buffer.from('{"type":"TEARDOWN"}'))).toEqual({ type: 'TEARDOWN' });
  });

  it('decodes maps, naming keys in paths', () => {
    const task = (mem: unknown) => ({ name: 't', task_id: { value: 't' }, agent_id: { value: 'a' }, limits: { cpus: { value: 2 }, mem: { value: mem } } });
    expect(decodeError('mesos.v1.TaskInfo', task('x')).path).toBe('limits["mem"].value');
    expect(decodeJson('mesos.v1.TaskInfo', task(64))).toMatchObject({ limits: { cpus: { value: 2 }, mem: { value: 64 } } });
  });

  it('keeps the last member of a oneof', () => {
    const selector = decodeJson('mesos.v1.scheduler.AttributeConstraint.Selector', '{"attribute_name":"rack","pseudoattribute_type":"HOSTNAME"}');
    expect(selector).toEqual({ pseudoattribute_type: 'HOSTNAME' });
  });

  it('refuses nesting deeper than 100 levels', () => {
    let id: object = { value: 'c' };
    for (let i = 0; i < 150; i++) id = { value: `c${i}`, parent: id };
    expect(decodeError('mesos.v1.ContainerID', id).message).toContain('nest deeper than 100');
  });

  it('refuses unknown type names as a programming error', () => {
    expect(() => decodeJson('mesos.v1.Nope', '{}')).toThrow(/unknown Mesos message type 'mesos.v1.Nope'/);
  });
});

describe('encodeJson', () => {
  it('writes explicit defaults of unset fields, as Mesos does', () => {
    expect(encodeJson('mesos.v1.CommandInfo', { value: 'ls' })).toBe('{"shell":true,"value":"ls"}');
    expect(encodeJson('mesos.v1.CommandInfo', { value: 'ls', shell: false })).toBe('{"shell":false,"value":"ls"}');
    expect(encodeJson('mesos.v1.Filters', {})).toBe('{"refuse_seconds":5}');
    expect(encodeJson('mesos.v1.AgentInfo', { hostname: 'a' })).toBe('{"hostname":"a","port":5051}');
  });

  it('does not write the default of a deprecated field (Resource.role) nor empty repeated fields', () => {
    const json = encodeJson('mesos.v1.Resource', { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [] });
    expect(json).toBe('{"name":"cpus","type":"SCALAR","scalar":{"value":1}}');
  });

  it('writes ASCII only, escaping other characters as \\uXXXX', () => {
    const status = { task_id: { value: 'café-🚀' }, state: 'TASK_RUNNING', message: 'naïve ☃' };
    const json = encodeJson('mesos.v1.TaskStatus', status);
    expect(json).toMatch(/^[\x00-\x7f]*$/);
    expect(json).toContain('caf\\u00e9-\\ud83d\\ude80');
    expect(Buffer.byteLength(json)).toBe(json.length);
    expect(decodeJson('mesos.v1.TaskStatus', json)).toEqual(status);
  });

  it('writes 64-bit integers as numbers', () => {
    expect(encodeJson('mesos.v1.TimeInfo', { nanoseconds: 1700000000000000000 })).toBe('{"nanoseconds":1700000000000000000}');
  });

  it('refuses a message built wrong with status 500 and the path', () => {
    let caught: unknown;
    try {
      encodeJson('mesos.v1.scheduler.Event', { type: 'SUBSCRIBED', subscribed: { heartbeat_interval_seconds: 5 } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(WireError);
    expect((caught as WireError).status).toBe(500);
    expect((caught as WireError).path).toBe('subscribed.framework_id');
    expect(() => encodeJson('mesos.v1.scheduler.Event', { type: 'NOPE' })).toThrow(/type: expected one of UNKNOWN, SUBSCRIBED/);
    expect(() => encodeJson('mesos.v1.TaskStatus', { task_id: { value: 't' }, state: 'TASK_RUNNING', uuid: 'abc' })).toThrow(
      /uuid: expected a Buffer or Uint8Array, got the string "abc"/,
    );
    expect(() => encodeJson('mesos.v1.Offer.Operation.Launch', { task_infos: {} })).toThrow(/task_infos: expected an array/);
  });
});
