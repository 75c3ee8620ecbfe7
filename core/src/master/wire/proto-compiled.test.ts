// The compiled decoders against the generic one (decodeProtoSlow): the same values, types and key order
// on valid messages of every type, and on broken input either the same value or exactly the same WireError.
import protobuf from 'protobufjs';
import { decodeJson } from './json-codec';
import { decodeProto, decodeProtoSlow, encodeProto } from './proto-codec';
import { decodeCompiled } from './proto-compiled';
import { mesosRoot, messagePlan, type EnumPlan, type FieldPlan, type MessagePlan, type PlainMessage, type ScalarKind } from './mesos-types';
import { WireError } from './wire-error';
import { FW, STATE_RESPONSE } from './reference-json';

// ---- comparing ----

// A rendering that tells apart what toEqual would not: key order, Buffer from Uint8Array, -0, prototypes.
function render(value: unknown): string {
  if (Buffer.isBuffer(value)) return `Buffer(${value.toString('hex')})`;
  if (value instanceof Uint8Array) return `Uint8Array(${Buffer.from(value).toString('hex')})`;
  if (Array.isArray(value)) return `[${value.map(render).join(',')}]`;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) {
    const proto = Object.getPrototypeOf(value) as unknown;
    const prefix = proto === Object.prototype ? '' : `<${proto === null ? 'null' : render(proto)}>`;
    const entries = Object.keys(value).map((k) => `${JSON.stringify(k)}:${render((value as PlainMessage)[k])}`);
    return `${prefix}{${entries.join(',')}}`;
  }
  return `${typeof value}:${String(value)}`;
}

// Every key path, in the order Object.keys gives them.
function keyPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => keyPaths(v, `${prefix}[${i}]`));
  return Object.keys(value).flatMap((k) => [`${prefix}.${k}`, ...keyPaths((value as PlainMessage)[k], `${prefix}.${k}`)]);
}

type Outcome = { value: string } | { error: string; status: number; path: string | undefined; wire: boolean };

function outcome(decode: () => unknown): Outcome {
  try {
    return { value: render(decode()) };
  } catch (err) {
    const e = err as WireError;
    return { error: e.message, status: e.status, path: e.path, wire: err instanceof WireError };
  }
}

const planOf = (type: string | MessagePlan) => (typeof type === 'string' ? messagePlan(type) : type);

// A valid message: the compiled decoder decodes it (it must not give up) exactly as the generic one.
function expectSameDecoding(type: string | MessagePlan, bytes: Uint8Array): PlainMessage {
  const slow = decodeProtoSlow(type, bytes);
  const fast = decodeCompiled(planOf(type), bytes);
  expect(fast).toBeDefined();
  expect(render(fast)).toBe(render(slow));
  expect(keyPaths(fast)).toEqual(keyPaths(slow));
  expect(fast).toEqual(slow);
  return fast!;
}

// Any input: decodeProto gives what the generic decoder gives, a value or the same WireError; and where
// the compiled decoder answers, the generic one answers the same value.
function expectSameOutcome(type: string | MessagePlan, bytes: Uint8Array): Outcome {
  const slow = outcome(() => decodeProtoSlow(type, bytes));
  const compiled = decodeCompiled(planOf(type), bytes);
  if (compiled !== undefined) expect({ value: render(compiled) }).toEqual(slow);
  if (typeof type === 'string') expect(outcome(() => decodeProto(type, bytes))).toEqual(slow);
  return slow;
}

// ---- seeded randomness ----

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)];

const STRINGS = ['', 'a', 'web', 'cpus', '*', 'M-0000', 'web.task-17', 'a3f1c2d4-0000-4000-8000-000000000001-S7', 'ünïcødé', '日本語テキスト', '😀 emoji', 'x'.repeat(16), 'y'.repeat(17), 'z'.repeat(300)];
const NUMBERS: Record<string, readonly number[]> = {
  int32: [0, 1, -1, 127, 128, 300, 2 ** 31 - 1, -(2 ** 31)],
  uint32: [0, 1, 127, 128, 16383, 16384, 2 ** 28, 2 ** 32 - 1],
  int64: [0, 1, -1, 127, 128, 2 ** 32, 2 ** 53, -(2 ** 53), 1700000000123456789, -(2 ** 63)],
  uint64: [0, 1, 127, 128, 31000, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 63, 2 ** 64 - 4096],
  double: [0, -0, 0.5, -1.25, 604800, 1700000000.125, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, NaN],
  float: [0, -0, 0.5, -1.25, Math.fround(3.3), Infinity, NaN],
};
NUMBERS.sint32 = NUMBERS.int32;
NUMBERS.sfixed32 = NUMBERS.int32;
NUMBERS.fixed32 = NUMBERS.uint32;
NUMBERS.sint64 = NUMBERS.int64;
NUMBERS.sfixed64 = NUMBERS.int64;
NUMBERS.fixed64 = NUMBERS.uint64;

function randomValue(field: FieldPlan, random: () => number, depth: number): unknown {
  switch (field.kind) {
    case 'message':
      return randomMessage(field.messagePlan!, random, depth + 1);
    case 'enum':
      return pick(random, [...field.enumPlan!.numberOf.keys()]);
    case 'string':
      return pick(random, STRINGS);
    case 'bytes':
      return Buffer.from(Array.from({ length: pick(random, [0, 1, 16, 16, 40, 64, 65, 200]) }, () => Math.floor(random() * 256)));
    case 'bool':
      return random() < 0.5;
    default:
      return pick(random, NUMBERS[field.kind]);
  }
}

// A random valid message: required fields always, optional ones at random, shallower as it nests.
function randomMessage(plan: MessagePlan, random: () => number, depth = 0): PlainMessage {
  const out: PlainMessage = {};
  for (const field of plan.fields) {
    if (!field.required && (random() < 0.4 || depth > 5 || (field.kind === 'message' && depth > 3 && random() < 0.7))) continue;
    if (field.oneofSiblings.some((n) => out[n] !== undefined)) continue;
    if (field.map) {
      const map: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 3); i > 0; i--) map[pick(random, STRINGS)] = randomValue(field, random, depth);
      if (Object.keys(map).length > 0) out[field.name] = map;
    } else if (field.repeated) {
      const list = Array.from({ length: 1 + Math.floor(random() * 3) }, () => randomValue(field, random, depth));
      out[field.name] = list;
    } else {
      out[field.name] = randomValue(field, random, depth);
    }
  }
  return out;
}

function allTypeNames(): string[] {
  const names: string[] = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) names.push(nested.fullName.slice(1));
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) walk(nested);
    }
  };
  walk(mesosRoot);
  return names;
}

// ---- realistic messages ----

const uuid = Buffer.from('8536cb4346f9435399b9a6fb41c95329', 'hex');
const AGENT_ID = { value: 'a3f1c2d4-0000-4000-8000-000000000001-S7' };
const FRAMEWORK_ID = { value: 'a3f1c2d4-0000-4000-8000-000000000001-0000' };

const RESOURCES = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 }, allocation_info: { role: 'web' } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 4096 }, reservations: [{ type: 'STATIC', role: 'ops' }, { type: 'DYNAMIC', role: 'ops/db', principal: 'p', labels: { labels: [{ key: 'k', value: 'v' }] } }] },
  { name: 'disk', type: 'SCALAR', scalar: { value: 1024 }, disk: { persistence: { id: 'vol-1', principal: 'p' }, volume: { container_path: 'data', mode: 'RW' } } },
  { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }, { begin: 2 ** 40, end: 2 ** 53 }] } },
  { name: 'zones', type: 'SET', set: { item: ['a', 'b', 'ü'] } },
];
const FRAMEWORK = {
  user: 'root', name: 'marathon', id: FRAMEWORK_ID, roles: ['web', 'batch'], failover_timeout: 604800, checkpoint: true, hostname: 'sched-1',
  capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }],
  offer_filters: { web: { min_allocatable_resources: { quantities: [{ quantities: { cpus: { value: 1 }, mem: { value: 32 } } }] } } },
};
const STATUS = {
  task_id: { value: 'web.task-1' }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid, timestamp: 1700000000.125,
  agent_id: AGENT_ID, executor_id: { value: 'web.task-1' }, healthy: true, message: 'up', reason: 'REASON_COMMAND_EXECUTOR_FAILED',
  check_status: { type: 'COMMAND', command: { exit_code: -1 } },
};
const TASK_INFO = {
  name: 'web', task_id: { value: 't1' }, agent_id: AGENT_ID, resources: RESOURCES,
  command: { value: 'python3 -m http.server $PORT0', environment: { variables: [{ name: 'MODE', value: 'prod' }] }, uris: [{ value: 'http://x/app.tgz', extract: false }] },
  container: { type: 'DOCKER', docker: { image: 'nginx:1.25', network: 'BRIDGE', port_mappings: [{ host_port: 31000, container_port: 80 }] } },
  health_check: { type: 'HTTP', http: { port: 8080, path: '/health', statuses: [200, 204] }, delay_seconds: 5 },
  kill_policy: { grace_period: { nanoseconds: 30_000_000_000 } },
  labels: { labels: [{ key: 'team', value: 'web' }] },
  limits: { cpus: { value: 2 }, mem: { value: 1024 } },
  data: Buffer.from([0, 1, 2, 255]),
};
const TASK = {
  name: 'web', task_id: { value: 'web.task-1' }, framework_id: FRAMEWORK_ID, executor_id: { value: 'web.task-1' }, agent_id: AGENT_ID,
  state: 'TASK_RUNNING', resources: RESOURCES, statuses: [STATUS, { ...STATUS, state: 'TASK_STARTING', uuid: Buffer.alloc(0) }],
  status_update_state: 'TASK_RUNNING', status_update_uuid: uuid, labels: { labels: [{ key: 'a', value: '' }] }, limits: { cpus: { value: 1 } },
};
const AGENT_INFO = {
  hostname: 'node-17.example.com', port: 5051, id: AGENT_ID, resources: RESOURCES,
  attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }, { name: 'gen', type: 'SCALAR', scalar: { value: 3 } }],
};

const AGENT_MESSAGES: Record<string, PlainMessage> = {
  register: { register: { agent_info: AGENT_INFO, version: '0.1.0', capabilities: ['MULTI_ROLE'] } },
  reregister: {
    reregister: {
      agent_info: AGENT_INFO, tasks: Array.from({ length: 10 }, (_, i) => ({ ...TASK, task_id: { value: `web.task-${i}` } })),
      frameworks: [FRAMEWORK, { ...FRAMEWORK, id: { value: 'other' }, roles: ['*'] }], version: '0.1.0', capabilities: ['MULTI_ROLE', 'RESERVATION_REFINEMENT'],
    },
  },
  status_update: { status_update: { framework_id: FRAMEWORK_ID, status: STATUS } },
  pong: { pong: { seq: 2 ** 40 } },
  resources_changed: { resources_changed: { total: RESOURCES } },
};

const MASTER_MESSAGES: Record<string, PlainMessage> = {
  registered: { registered: { agent_id: AGENT_ID, master_info: { id: 'M', ip: 16777343, port: 5050, hostname: 'master1', version: '0.1.0', address: { hostname: 'master1', ip: '127.0.0.1', port: 5050 } }, ping_interval_seconds: 15 } },
  run_task: { run_task: { framework: FRAMEWORK, task: TASK_INFO } },
  kill_task: { kill_task: { framework_id: FRAMEWORK_ID, task_id: { value: 't1' }, kill_policy: { grace_period: { nanoseconds: 5_000_000_000 } } } },
  status_update_ack: { status_update_ack: { framework_id: FRAMEWORK_ID, task_id: { value: 't1' }, uuid } },
  ping: { ping: { seq: 2 ** 40 + 1 } },
  shutdown_framework: { shutdown_framework: { framework_id: FRAMEWORK_ID } },
  refused: { refused: { message: 'this master does not take agents of role ops: run the agent with --default_role' } },
};

const CALLS: Record<string, string> = {
  SUBSCRIBE: `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"fw","failover_timeout":604800,"roles":["*"],"capabilities":[{"type":"MULTI_ROLE"}]},"suppressed_roles":["x"]}}`,
  ACCEPT: `{${FW},"type":"ACCEPT","accept":{"offer_ids":[{"value":"M-O1"}],"operations":[
    {"type":"LAUNCH","launch":{"task_infos":[{"name":"web","task_id":{"value":"t1"},"agent_id":{"value":"M-S0"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}}],"command":{"value":"sleep 10"}}]}},
    {"type":"LAUNCH_GROUP","launch_group":{"executor":{"type":"DEFAULT","executor_id":{"value":"e1"},"resources":[{"name":"mem","type":"SCALAR","scalar":{"value":32}}]},"task_group":{"tasks":[{"name":"t","task_id":{"value":"t2"},"agent_id":{"value":"M-S0"}}]}}},
    {"type":"RESERVE","reserve":{"resources":[{"name":"disk","type":"SCALAR","scalar":{"value":100},"reservations":[{"type":"DYNAMIC","role":"db","principal":"p"}]}]}}],
    "filters":{"refuse_seconds":30}}}`,
  DECLINE: `{${FW},"type":"DECLINE","decline":{"offer_ids":[{"value":"M-O1"},{"value":"M-O2"}],"filters":{"refuse_seconds":5.0}}}`,
  KILL: `{${FW},"type":"KILL","kill":{"task_id":{"value":"t1"},"agent_id":{"value":"M-S0"},"kill_policy":{"grace_period":{"nanoseconds":-5000000000}}}}`,
  ACKNOWLEDGE: `{${FW},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"M-S0"},"task_id":{"value":"t1"},"uuid":"hTaLQ0b5Q1OZuab7QclTKQ=="}}`,
  RECONCILE: `{${FW},"type":"RECONCILE","reconcile":{"tasks":[{"task_id":{"value":"t1"},"agent_id":{"value":"M-S0"}},{"task_id":{"value":"t2"}}]}}`,
  MESSAGE: `{${FW},"type":"MESSAGE","message":{"agent_id":{"value":"M-S0"},"executor_id":{"value":"e1"},"data":"aGVsbG8="}}`,
  UPDATE_FRAMEWORK: `{${FW},"type":"UPDATE_FRAMEWORK","update_framework":{"framework_info":{"user":"root","name":"fw","id":{"value":"M-0000"},"roles":["web","batch"],
    "offer_filters":{"web":{"min_allocatable_resources":{"quantities":[{"quantities":{"cpus":{"value":1}}}]}}}},"suppressed_roles":["batch"],
    "offer_constraints":{"role_constraints":{"web":{"groups":[{"attribute_constraints":[{"selector":{"attribute_name":"rack"},"predicate":{"text_equals":{"value":"r1"}}},
      {"selector":{"pseudoattribute_type":"HOSTNAME"},"predicate":{"exists":{}}}]}]}}}}}`,
};
const EVENTS: Record<string, string> = {
  SUBSCRIBED: `{"type":"SUBSCRIBED","subscribed":{${FW},"heartbeat_interval_seconds":15,"master_info":{"id":"M","ip":16777343,"port":5050,"hostname":"master1","version":"1.11.0","address":{"hostname":"master1","ip":"127.0.0.1","port":5050}}}}`,
  OFFERS: `{"type":"OFFERS","offers":{"offers":[{"id":{"value":"M-O1"},${FW},"agent_id":{"value":"M-S0"},"hostname":"agent1","url":{"scheme":"http","address":{"hostname":"agent1","ip":"10.0.0.5","port":5051},"path":"/slave(1)"},"allocation_info":{"role":"*"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":4},"role":"*","allocation_info":{"role":"*"}}]}]}}`,
  INVERSE_OFFERS: `{"type":"INVERSE_OFFERS","inverse_offers":{"inverse_offers":[{"id":{"value":"M-O9"},${FW},"agent_id":{"value":"M-S0"},"unavailability":{"start":{"nanoseconds":1700000000123456789},"duration":{"nanoseconds":3600000000000}}}]}}`,
  UPDATE: `{"type":"UPDATE","update":{"status":{"task_id":{"value":"t1"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","agent_id":{"value":"M-S0"},"executor_id":{"value":"t1"},"timestamp":1700000000.12,"uuid":"hTaLQ0b5Q1OZuab7QclTKQ=="}}}`,
  FAILURE: `{"type":"FAILURE","failure":{"agent_id":{"value":"M-S0"},"executor_id":{"value":"e1"},"status":-9}}`,
  ERROR: `{"type":"ERROR","error":{"message":"Framework has been removed"}}`,
  HEARTBEAT: `{"type":"HEARTBEAT"}`,
};

const AGENT = 'tessera.agent.v1.AgentMessage';
const MASTER = 'tessera.agent.v1.MasterMessage';

/** Every realistic message, as [type, name, bytes]. */
const SAMPLES: [string, string, Buffer][] = [
  ...Object.entries(AGENT_MESSAGES).map(([n, m]): [string, string, Buffer] => [AGENT, n, encodeProto(AGENT, m)]),
  ...Object.entries(MASTER_MESSAGES).map(([n, m]): [string, string, Buffer] => [MASTER, n, encodeProto(MASTER, m)]),
  ...Object.entries(CALLS).map(([n, j]): [string, string, Buffer] => ['mesos.v1.scheduler.Call', n, encodeProto('mesos.v1.scheduler.Call', decodeJson('mesos.v1.scheduler.Call', j))]),
  ...Object.entries(EVENTS).map(([n, j]): [string, string, Buffer] => ['mesos.v1.scheduler.Event', n, encodeProto('mesos.v1.scheduler.Event', decodeJson('mesos.v1.scheduler.Event', j))]),
  ['mesos.v1.master.Response', 'GET_STATE', encodeProto('mesos.v1.master.Response', decodeJson('mesos.v1.master.Response', STATE_RESPONSE))],
  ['mesos.v1.Task', 'task', encodeProto('mesos.v1.Task', TASK)],
  ['mesos.v1.TaskInfo', 'task info', encodeProto('mesos.v1.TaskInfo', TASK_INFO)],
  ...RESOURCES.map((r): [string, string, Buffer] => ['mesos.v1.Resource', r.name, encodeProto('mesos.v1.Resource', r)]),
];

// ---- raw protobuf ----

/** varint writes any unsigned value up to 2^70 as a varint, padded with continuation bytes to `minBytes`. */
function varint(value: bigint, minBytes = 1): number[] {
  const out: number[] = [];
  do {
    out.push(Number(value & 127n));
    value >>= 7n;
  } while (value > 0n || out.length < minBytes);
  for (let i = 0; i < out.length - 1; i++) out[i] |= 128;
  return out;
}

const tagBytes = (id: number, wireType: number): number[] => varint(BigInt(id * 8 + wireType));
const lengthDelimited = (id: number, body: number[] | Uint8Array): number[] => [...tagBytes(id, 2), ...varint(BigInt(body.length)), ...body];

// ---- a plan with the scalar kinds no Mesos field has ----

const KINDS: (ScalarKind | 'enum')[] = ['double', 'float', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64', 'bool', 'string', 'bytes', 'enum'];
const WIRE: Record<string, number> = { double: 1, fixed64: 1, sfixed64: 1, float: 5, fixed32: 5, sfixed32: 5, string: 2, bytes: 2, message: 2 };
const COLOR: EnumPlan = { fullName: 'test.Color', numberOf: new Map([['NEG', -1], ['ZERO', 0], ['RED', 1], ['GREEN', 2], ['BIG', 300]]), nameOf: new Map([[-1, 'NEG'], [0, 'ZERO'], [1, 'RED'], [2, 'GREEN'], [300, 'BIG']]) };

function field(name: string, id: number, kind: FieldPlan['kind'], more: Partial<FieldPlan> = {}): FieldPlan {
  return {
    name, id, kind, repeated: false, map: false, required: false, wireType: WIRE[kind] ?? 0,
    enumPlan: kind === 'enum' ? COLOR : undefined, messagePlan: undefined, oneofSiblings: [], outputDefault: undefined, ...more,
  };
}

function plan(fullName: string, fields: FieldPlan[]): MessagePlan {
  return { fullName, fields, fieldsById: [...fields].sort((a, b) => a.id - b.id), byName: new Map(fields.map((f) => [f.name, f])), byId: new Map(fields.map((f) => [f.id, f])), required: fields.filter((f) => f.required) };
}

// Singular fields 1-16, repeated ones 21-36, a oneof of an enum and a string (41, 42), a required int (50),
// a message of its own type (60), a map of it (61) and a list of it (62).
const SCALARS: MessagePlan = plan('test.Scalars', []);
Object.assign(SCALARS, plan('test.Scalars', [
  ...KINDS.map((kind, i) => field(`s_${kind}`, i + 1, kind)),
  ...KINDS.map((kind, i) => field(`r_${kind}`, i + 21, kind, { repeated: true })),
  field('pick_color', 41, 'enum', { oneofSiblings: ['pick_name'] }),
  field('pick_name', 42, 'string', { oneofSiblings: ['pick_color'] }),
  field('needed', 50, 'int32', { required: true }),
  field('self', 60, 'message', { messagePlan: SCALARS }),
  field('by_name', 61, 'message', { messagePlan: SCALARS, map: true }),
  field('r_self', 62, 'message', { messagePlan: SCALARS, repeated: true }),
]));

// The required field of SCALARS, set to 1.
const NEEDED = [...tagBytes(50, 0), 1];

// A message of nothing but a map of its own type, which has no required field: an entry without value is {}.
const LOOSE: MessagePlan = plan('test.Loose', []);
Object.assign(LOOSE, plan('test.Loose', [field('child', 1, 'message', { messagePlan: LOOSE, map: true })]));

// A map entry of field `id` with the key 'k' and, if given, the value.
function looseEntry(id: number, value?: number[]): number[] {
  return lengthDelimited(id, [...lengthDelimited(1, Buffer.from('k')), ...(value ? lengthDelimited(2, value) : [])]);
}

function scalarBytes(kind: string, random: () => number): number[] {
  const w = protobuf.Writer.create();
  if (kind === 'enum') w.int32(pick(random, [-1, 0, 1, 2, 3, 300, 2 ** 31 - 1]));
  else if (kind === 'bool') w.uint32(pick(random, [0, 1, 2, 2 ** 32 - 1]));
  else if (kind === 'string') w.string(pick(random, STRINGS));
  else if (kind === 'bytes') w.bytes(Buffer.from(pick(random, STRINGS)));
  else (w as unknown as Record<string, (v: number) => void>)[kind](pick(random, NUMBERS[kind]));
  return [...w.finish()];
}

// A random body of SCALARS fields: valid values of random kinds, sometimes the wrong wire type, packed
// runs, nested messages and map entries (an entry without a value lacks `needed`).
function randomScalars(random: () => number, depth = 0): number[] {
  const out: number[] = [...tagBytes(50, 0), ...scalarBytes('int32', random)];
  for (let n = Math.floor(random() * 8); n > 0; n--) {
    const i = Math.floor(random() * KINDS.length);
    const kind = KINDS[i];
    const roll = random();
    if (roll < 0.4) out.push(...tagBytes(i + 1, WIRE[kind] ?? 0), ...scalarBytes(kind, random));
    else if (roll < 0.6) out.push(...tagBytes(i + 21, WIRE[kind] ?? 0), ...scalarBytes(kind, random));
    else if (roll < 0.75 && (WIRE[kind] ?? 0) !== 2) out.push(...lengthDelimited(i + 21, [...scalarBytes(kind, random), ...scalarBytes(kind, random)]));
    else if (roll < 0.8) out.push(...tagBytes(41, 0), ...scalarBytes('enum', random));
    else if (roll < 0.85) out.push(...lengthDelimited(42, Buffer.from(pick(random, STRINGS))));
    else if (roll < 0.9 && depth < 3) out.push(...lengthDelimited(60, randomScalars(random, depth + 1)));
    else if (roll < 0.95 && depth < 3) out.push(...lengthDelimited(61, [...lengthDelimited(1, Buffer.from(pick(random, STRINGS))), ...(random() < 0.8 ? lengthDelimited(2, randomScalars(random, depth + 1)) : [])]));
    else {
      const other = pick(random, KINDS);
      out.push(...tagBytes(i + 1, WIRE[other] ?? 0), ...scalarBytes(other, random));
    }
  }
  return out;
}

// ---- tests ----

describe('compiled protobuf decoders', () => {
  it.each(SAMPLES.map(([type, name, bytes]) => [`${type} ${name}`, type, bytes] as const))('decode %s as the generic decoder does', (_name, type, bytes) => {
    expectSameDecoding(type, bytes);
    expectSameDecoding(type, new Uint8Array(bytes));
    expect(decodeProto(type, bytes)).toEqual(decodeProtoSlow(type, bytes));
  });

  it('decode random valid messages of every Mesos and agent protocol type', () => {
    const random = rng(7);
    const names = allTypeNames();
    expect(names.length).toBeGreaterThan(200);
    let decoded = 0;
    for (const name of names) {
      for (let i = 0; i < 6; i++) {
        let bytes: Buffer;
        try {
          bytes = encodeProto(name, randomMessage(messagePlan(name), random));
        } catch {
          continue; // a random message the encoder refuses (a required message nested too deep)
        }
        expectSameDecoding(name, bytes);
        decoded++;
      }
    }
    expect(decoded).toBeGreaterThan(names.length * 5);
  });

  it('give bytes memory of their own, as Buffers', () => {
    const bytes = encodeProto(MASTER, MASTER_MESSAGES.status_update_ack);
    const decoded = decodeCompiled(messagePlan(MASTER), bytes) as { status_update_ack: { uuid: Buffer } };
    bytes.fill(0);
    expect(Buffer.isBuffer(decoded.status_update_ack.uuid)).toBe(true);
    expect(decoded.status_update_ack.uuid.equals(uuid)).toBe(true);
    expect(decoded.status_update_ack.uuid.buffer.byteLength).toBe(16);
    // A long value is copied another way.
    const data = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 255));
    const info = encodeProto('mesos.v1.TaskInfo', { ...TASK_INFO, data });
    const task = decodeCompiled(messagePlan('mesos.v1.TaskInfo'), info) as { data: Buffer };
    info.fill(0);
    expect(task.data.equals(data)).toBe(true);
    expect(task.data.buffer.byteLength).toBe(300);
  });

  it('keep the key order of repeated, oneof and map fields as they occur', () => {
    const selector = 'mesos.v1.scheduler.AttributeConstraint.Selector';
    // attribute_name, then pseudoattribute_type (clears it), then attribute_name again (clears that).
    const oneof = Buffer.from([...lengthDelimited(2, Buffer.from('rack')), ...tagBytes(1, 0), 1, ...lengthDelimited(2, Buffer.from('zone'))]);
    expect(expectSameDecoding(selector, oneof)).toEqual({ attribute_name: 'zone' });
    // An unknown enum number sets nothing and clears nothing.
    const unknownEnum = Buffer.from([...lengthDelimited(2, Buffer.from('rack')), ...tagBytes(1, 0), 99]);
    expect(expectSameDecoding(selector, unknownEnum)).toEqual({ attribute_name: 'rack' });

    // pong, register, pong again: the oneof ends with its last member, a message set twice keeps the last.
    const pong = (seq: number) => lengthDelimited(4, [...tagBytes(1, 0), ...varint(BigInt(seq))]);
    const register = lengthDelimited(1, encodeProto('tessera.agent.v1.Register', AGENT_MESSAGES.register.register as PlainMessage));
    const agent = Buffer.from([...pong(1), ...register, ...pong(2), ...pong(3)]);
    expect(expectSameDecoding(AGENT, agent)).toEqual({ pong: { seq: 3 } });

    // Fields out of number order, a repeated field interleaved with others.
    const info = Buffer.from([
      ...lengthDelimited(1, Buffer.from('node')), ...lengthDelimited(5, encodeProto('mesos.v1.Attribute', { name: 'a', type: 'TEXT', text: { value: 'x' } })),
      ...tagBytes(8, 0), 0x8b, 0x27, ...lengthDelimited(5, encodeProto('mesos.v1.Attribute', { name: 'b', type: 'TEXT', text: { value: 'y' } })),
      ...lengthDelimited(6, encodeProto('mesos.v1.AgentID', { value: 'S1' })), ...lengthDelimited(6, encodeProto('mesos.v1.AgentID', { value: 'S2' })),
    ]);
    expect(Object.keys(expectSameDecoding('mesos.v1.AgentInfo', info))).toEqual(['hostname', 'attributes', 'port', 'id']);
  });

  it('read packed and unpacked repeated scalars and drop unknown enum numbers', () => {
    const statuses = Buffer.from([
      ...tagBytes(1, 0), 0x90, 0x3f, ...lengthDelimited(4, [0xc8, 0x01, 0xcc, 0x01]), ...tagBytes(4, 0), 0xad, 0x02, ...lengthDelimited(4, []),
    ]);
    expect(expectSameDecoding('mesos.v1.HealthCheck.HTTPCheckInfo', statuses)).toEqual({ port: 8080, statuses: [200, 204, 301] });
    // CapabilityInfo.capabilities (CHOWN = 1000): unknown numbers only, packed or not, leave the field unset.
    const capability = 'mesos.v1.CapabilityInfo';
    expect(expectSameDecoding(capability, Buffer.from([...tagBytes(1, 0), 77, ...lengthDelimited(1, [78, 79])]))).toEqual({});
    const mixed = Buffer.from([...lengthDelimited(1, [77]), ...tagBytes(1, 0), 0xe8, 0x07, ...lengthDelimited(1, [99, 0xe9, 0x07, 99])]);
    expect(expectSameDecoding(capability, mixed)).toEqual({ capabilities: ['CHOWN', 'DAC_OVERRIDE'] });
  });

  it('read map entries without value, without key, twice, and a __proto__ key as the generic decoder does', () => {
    const task = 'mesos.v1.TaskInfo';
    const head = [...lengthDelimited(1, Buffer.from('t')), ...lengthDelimited(2, encodeProto('mesos.v1.TaskID', { value: 't' })), ...lengthDelimited(5, encodeProto('mesos.v1.AgentID', { value: 'S' }))];
    const scalar = (value: number) => encodeProto('mesos.v1.Value.Scalar', { value });
    const entry = (parts: number[]) => lengthDelimited(20, parts);
    const cases = [
      entry([...lengthDelimited(1, Buffer.from('cpus'))]), // no value: an empty Scalar, which lacks its required value
      entry([...lengthDelimited(2, scalar(1))]), // no key: ''
      [...entry([...lengthDelimited(1, Buffer.from('mem')), ...lengthDelimited(2, scalar(1))]), ...entry([...lengthDelimited(1, Buffer.from('cpus')), ...lengthDelimited(2, scalar(2))]), ...entry([...lengthDelimited(1, Buffer.from('mem')), ...lengthDelimited(2, scalar(3))])],
      entry([...lengthDelimited(1, Buffer.from('__proto__')), ...lengthDelimited(2, scalar(4))]),
      entry([...lengthDelimited(2, scalar(1)), ...lengthDelimited(2, scalar(2)), ...tagBytes(3, 0), 5, ...lengthDelimited(1, Buffer.from('late'))]),
      entry([...tagBytes(0, 0), 1, ...lengthDelimited(1, Buffer.from('zero'))]), // field number 0 is skipped inside an entry
      entry([...lengthDelimited(1, Buffer.from('1')), ...lengthDelimited(2, scalar(1))]), // an integer-like key sorts first
    ];
    for (const c of cases) expectSameOutcome(task, Buffer.from([...head, ...c, ...entry([...lengthDelimited(1, Buffer.from('disk')), ...lengthDelimited(2, scalar(9))])]));
    // An entry without a value, of a message without required fields, is an empty message.
    const fw = Buffer.from([...lengthDelimited(1, Buffer.from('u')), ...lengthDelimited(2, Buffer.from('n')), ...lengthDelimited(13, lengthDelimited(1, Buffer.from('web')))]);
    expect(expectSameDecoding('mesos.v1.FrameworkInfo', fw)).toEqual({ user: 'u', name: 'n', offer_filters: { web: {} } });
  });

  it('skip unknown fields of every wire type, groups included', () => {
    const known = encodeProto('mesos.v1.TimeInfo', { nanoseconds: 5 });
    const unknown = [
      [...tagBytes(9, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
      [...tagBytes(9, 1), 1, 2, 3, 4, 5, 6, 7, 8],
      lengthDelimited(9, [1, 2, 3]),
      [...tagBytes(9, 5), 1, 2, 3, 4],
      [...tagBytes(9, 3), ...tagBytes(1, 0), 7, ...tagBytes(9, 4)],
      [...tagBytes(1, 2), 1, 7], // a known field with another wire type
      [...tagBytes(2 ** 29 - 1, 0), 1],
    ];
    for (const u of unknown) {
      expect(expectSameOutcome('mesos.v1.TimeInfo', Buffer.from([...u, ...known]))).toEqual({ value: render({ nanoseconds: 5 }) });
    }
  });

  it('read the varints protobufjs reads oddly as it does', () => {
    const time = 'mesos.v1.TimeInfo';
    const cases: number[][] = [
      [...tagBytes(1, 0), ...varint(2n ** 64n - 1n)], // -1
      [...tagBytes(1, 0), ...varint(2n ** 63n)], // -2^63
      [...tagBytes(1, 0), ...varint(2n ** 63n - 1n)],
      [...tagBytes(1, 0), ...varint(2n ** 53n + 1n)], // rounds
      [...tagBytes(1, 0), ...varint(5n, 10)], // over-long
      [...tagBytes(1, 0), ...varint(5n, 11)], // too long
      [...tagBytes(1, 0), 0x80, 0x80, 0x80, 0x80], // 4 bytes near the end: protobufjs takes them
      [...varint(8n, 6), 5], // a 6-byte tag
      [0x88, 0x80, 0x80, 0x80, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 5], // a 5th tag byte with its high bit: 5 bytes skipped unread
      [0x88, 0x80, 0x80, 0x80, 0xf0, 0x00, 5], // 4 bits of a 5th byte
    ];
    for (const c of cases) expectSameOutcome(time, Buffer.from(c));
    // A negative int32 is 10 bytes (CheckStatusInfo.Command.exit_code); a sint/fixed kind has no Mesos field (see below).
    expectSameDecoding('mesos.v1.CheckStatusInfo.Command', Buffer.from([...tagBytes(1, 0), ...varint(2n ** 64n - 2n)]));
    expectSameDecoding('mesos.v1.Value.Range', Buffer.from([...tagBytes(1, 0), ...varint(2n ** 64n - 1n), ...tagBytes(2, 0), ...varint(2n ** 64n - 1n)]));
  });

  it('decode strings as protobufjs does: Node for a Buffer, protobufjs for another array, on invalid UTF-8 too', () => {
    const strings = [[0xff], [0xc3], [0xc3, 0x28], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0x61, 0xf4, 0x90, 0x80, 0x80], [0x7f, 0x80, 0x41]];
    for (const s of strings) {
      for (const pad of [0, 20]) {
        const value = [...Buffer.from('x'.repeat(pad)), ...s];
        const bytes = [...lengthDelimited(1, value), ...lengthDelimited(1, value)];
        expectSameDecoding('mesos.v1.AgentID', Buffer.from(bytes));
        expectSameDecoding('mesos.v1.AgentID', new Uint8Array(bytes));
      }
    }
    // A string overrunning the input: protobufjs's BufferReader cuts it short instead of failing.
    expectSameOutcome('mesos.v1.AgentID', Buffer.from([...tagBytes(1, 2), 10, 0x61, 0x62]));
    expectSameOutcome('mesos.v1.AgentID', new Uint8Array([...tagBytes(1, 2), 10, 0x61, 0x62]));
  });

  it('give up at the depth where the generic decoder fails', () => {
    const nested = (levels: number) => {
      let inner = encodeProto('mesos.v1.ContainerID', { value: 'c' });
      for (let i = 0; i < levels; i++) inner = Buffer.from([...lengthDelimited(1, Buffer.from(`c${i}`)), ...lengthDelimited(2, inner)]);
      return inner;
    };
    let deepest = 0;
    for (let levels = 95; levels <= 105; levels++) {
      const result = expectSameOutcome('mesos.v1.ContainerID', nested(levels));
      if ('value' in result) deepest = levels;
    }
    expect(deepest).toBe(100);
    expectSameDecoding('mesos.v1.ContainerID', nested(100));
  });

  it.each([
    ['a message field', () => SCALARS, NEEDED, (inner: number[]) => [...NEEDED, ...lengthDelimited(60, inner)]],
    ['a repeated field', () => SCALARS, NEEDED, (inner: number[]) => [...NEEDED, ...lengthDelimited(62, inner)]],
    ['a map', () => SCALARS, NEEDED, (inner: number[]) => [...NEEDED, ...looseEntry(61, inner)]],
    ['a map entry without value', () => LOOSE, looseEntry(1), (inner: number[]) => looseEntry(1, inner)],
  ] as const)('count the depth of %s as the generic decoder does', (_name, type, innermost, wrap) => {
    let deepest = 0;
    let body: number[] = innermost;
    for (let levels = 1; levels <= 110; levels++) {
      body = wrap(body);
      if (levels < 40) continue;
      const result = expectSameOutcome(type(), Buffer.from(body));
      if ('value' in result) {
        expect(decodeCompiled(type(), Buffer.from(body))).toBeDefined();
        deepest = levels;
      }
    }
    expect(deepest).toBeGreaterThan(40);
    expect(deepest).toBeLessThan(110);
  });

  it('decode every scalar kind, packed and unpacked, as the generic decoder does', () => {
    const random = rng(11);
    let valid = 0;
    for (let i = 0; i < 3000; i++) {
      const body = randomScalars(random);
      // A damaged body may still decode, oddly (a string overrunning the input is cut short): the compiled decoder gives up on those.
      const damaged = random() < 0.2;
      if (damaged) body[Math.floor(random() * body.length)] = Math.floor(random() * 256);
      const bytes = Buffer.from(body);
      const result = expectSameOutcome(SCALARS, random() < 0.5 ? bytes : new Uint8Array(bytes));
      if ('value' in result) {
        valid++;
        if (!damaged) expect(decodeCompiled(SCALARS, bytes)).toBeDefined();
      }
    }
    expect(valid).toBeGreaterThan(1500);
  });

  it('refuse random and mutated input with exactly the generic decoder’s WireError', () => {
    const random = rng(42);
    const stats = { same: 0, refused: 0, compiled: 0 };
    const mutate = (bytes: Buffer): Buffer => {
      const out = Buffer.from(bytes);
      switch (Math.floor(random() * 5)) {
        case 0:
          for (let n = 1 + Math.floor(random() * 4); n > 0; n--) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
          return out;
        case 1:
          return out.subarray(0, Math.floor(random() * out.length));
        case 2: {
          const at = Math.floor(random() * out.length);
          return Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({ length: 1 + Math.floor(random() * 6) }, () => Math.floor(random() * 256))), out.subarray(at)]);
        }
        case 3: {
          const at = Math.floor(random() * out.length);
          return Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + Math.floor(random() * 8))]);
        }
        default:
          out[Math.floor(random() * out.length)] ^= 1 << Math.floor(random() * 8);
          return out;
      }
    };
    const seeds = SAMPLES.filter(([, , b]) => b.length > 0);
    for (let i = 0; i < 6000; i++) {
      const [type, , valid] = pick(random, seeds);
      const input = i % 10 === 0 ? Buffer.from(Array.from({ length: Math.floor(random() * 48) }, () => Math.floor(random() * 256))) : mutate(valid);
      const result = expectSameOutcome(type, input);
      if ('error' in result) {
        expect(result.wire).toBe(true);
        expect(result.status).toBe(400);
        stats.refused++;
      } else {
        stats.same++;
        if (decodeCompiled(messagePlan(type), input) !== undefined) stats.compiled++;
      }
    }
    expect(stats.refused).toBeGreaterThan(1000);
    expect(stats.same).toBeGreaterThan(1000);
    expect(stats.compiled).toBeGreaterThan(500);
  });

  it('refuse every truncation of a re-registration as the generic decoder does', () => {
    const bytes = SAMPLES.find(([type, name]) => type === AGENT && name === 'reregister')![2];
    for (let cut = 0; cut < bytes.length; cut += 7) expectSameOutcome(AGENT, bytes.subarray(0, cut));
  });
});
