// Fuzzing the master's HTTP APIs: 10,000 random and mutated bodies (mutations of valid JSON and protobuf
// scheduler and operator calls — byte flips, truncation, huge numbers, wrong types, nulls, deep nesting,
// random content types) POSTed to /api/v1/scheduler and /api/v1 of one real master, with a framework
// and an agent so that mutated calls reach the master's logic (real offer, stream and task ids).
// Every request must get an HTTP status — never a reset — and no 5xx but 501 (the operator calls Tessera
// does not serve); afterwards the master still serves a normal SUBSCRIBE and /health.
//
// FUZZ_SEED=<n> replays a run, FUZZ_BODIES=<n> changes the count; a failure prints the seed and inputs.
import http from 'node:http';
import path from 'node:path';
import protobuf from 'protobufjs';
import { createLog } from '../../core/src/log';
import { runMaster, type RunningMaster } from '../../core/src/master/run-master';
import { waitFor } from '../modules/helpers';
import { operatorCall, post } from '../support/operator-client';
import { SchedulerClient } from '../support/scheduler-client';
import { SimAgent } from '../support/sim-agent';

const BODIES = Number(process.env.FUZZ_BODIES ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_122);
const CONCURRENCY = 16;
const MAX_BODY = 512 * 1024;
/** Statuses allowed in the 5xx range: 501, a Mesos operator call Tessera does not serve. */
const DOCUMENTED_5XX = new Set([501]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// ---- randomness (seeded, so that a failure can be replayed) -------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(SEED);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
const chance = (p: number): boolean => rand() < p;

// ---- seeds: valid calls -----------------------------------------------------------------------------

interface Ids {
  frameworkId: string;
  streamId: string;
  agentId: string;
  offerIds: string[];
  taskIds: string[];
  otherFrameworks: string[];
}

const UUID16 = () => Buffer.from(Array.from({ length: 16 }, () => int(256))).toString('base64');
const RESOURCES = (): Json => [
  { name: 'cpus', type: 'SCALAR', scalar: { value: pick([0.1, 0.5, 1]) } },
  { name: 'mem', type: 'SCALAR', scalar: { value: pick([32, 64, 128]) } },
  ...(chance(0.3) ? [{ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000 + int(100), end: 31100 + int(100) }] } }] : []),
];

function schedulerSeeds(ids: Ids): Json[] {
  const fw = { value: ids.frameworkId };
  const offer = ids.offerIds.length ? { value: pick(ids.offerIds) } : { value: 'M-O1' };
  const agent = { value: ids.agentId };
  const task = { value: ids.taskIds.length && chance(0.7) ? pick(ids.taskIds) : `fz-${int(1e6)}` };
  const info = { user: 'root', name: `fuzz-${int(100)}`, roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' }], failover_timeout: 0 };
  return [
    { type: 'SUBSCRIBE', subscribe: { framework_info: info } },
    { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n', role: pick(['*', 'a', 'a/b']), checkpoint: true, labels: { labels: [{ key: 'k', value: 'v' }] } }, suppressed_roles: ['a'] } },
    {
      type: 'ACCEPT',
      framework_id: fw,
      accept: {
        offer_ids: [offer],
        operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: 't', task_id: { value: `fz-${int(1e6)}` }, agent_id: agent, resources: RESOURCES(), command: { value: 'true', shell: true, uris: [{ value: 'http://x/y' }] }, labels: { labels: [{ key: 'a' }] } }] } }],
        filters: { refuse_seconds: 0 },
      },
    },
    { type: 'ACCEPT', framework_id: fw, accept: { offer_ids: [offer], operations: [{ type: 'RESERVE', reserve: { resources: RESOURCES() } }] } },
    { type: 'DECLINE', framework_id: fw, decline: { offer_ids: [offer], filters: { refuse_seconds: pick([0, 1, 5]) } } },
    { type: 'REVIVE', framework_id: fw, revive: { roles: ['*'] } },
    { type: 'REVIVE', framework_id: fw },
    { type: 'SUPPRESS', framework_id: fw, suppress: { roles: ['*'] } },
    { type: 'KILL', framework_id: fw, kill: { task_id: task, agent_id: agent, kill_policy: { grace_period: { nanoseconds: 1000 } } } },
    { type: 'SHUTDOWN', framework_id: fw, shutdown: { executor_id: task, agent_id: agent } },
    { type: 'ACKNOWLEDGE', framework_id: fw, acknowledge: { agent_id: agent, task_id: task, uuid: UUID16() } },
    { type: 'RECONCILE', framework_id: fw, reconcile: { tasks: [{ task_id: task, agent_id: agent }] } },
    { type: 'RECONCILE', framework_id: fw, reconcile: {} },
    { type: 'MESSAGE', framework_id: fw, message: { agent_id: agent, executor_id: task, data: 'aGVsbG8=' } },
    { type: 'REQUEST', framework_id: fw, request: { requests: [{ agent_id: agent, resources: RESOURCES() }] } },
    { type: 'UPDATE_FRAMEWORK', framework_id: fw, update_framework: { framework_info: { user: 'root', name: 'fuzz-main', id: fw, roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' }], failover_timeout: 3600 } } },
    { type: 'TEARDOWN', framework_id: { value: `not-${ids.frameworkId}` } },
    { type: 'ACCEPT_INVERSE_OFFERS', framework_id: fw, accept_inverse_offers: { inverse_offer_ids: [offer] } },
    { type: 'UNKNOWN', framework_id: fw },
  ];
}

const OPERATOR_TYPES = [
  'GET_HEALTH', 'GET_FLAGS', 'GET_VERSION', 'GET_METRICS', 'GET_STATE', 'GET_AGENTS', 'GET_FRAMEWORKS', 'GET_EXECUTORS', 'GET_TASKS',
  'GET_ROLES', 'GET_MASTER', 'SUBSCRIBE', 'TEARDOWN', 'MARK_AGENT_GONE', 'READ_FILE', 'LIST_FILES', 'GET_OPERATIONS', 'UNKNOWN',
];

function operatorSeeds(ids: Ids): Json[] {
  return [
    ...OPERATOR_TYPES.map((type) => ({ type })),
    { type: 'GET_METRICS', get_metrics: { timeout: { nanoseconds: 5_000_000_000 } } },
    // Never the fuzz's own framework: the scheduler calls need it.
    { type: 'TEARDOWN', teardown: { framework_id: { value: ids.otherFrameworks.length && chance(0.5) ? pick(ids.otherFrameworks) : `fw-${int(1000)}` } } },
  ];
}

// ---- mutations --------------------------------------------------------------------------------------

const HUGE_NUMBERS = ['1e308', '-1e308', '1e400', '-1e400', '1e-400', '18446744073709551616', '-9223372036854775809', '9007199254740993', '4294967296', '-1', '0.000001', '123456789012345678901234567890'];
const ENUM_NAMES = ['SUBSCRIBE', 'ACCEPT', 'LAUNCH', 'TASK_RUNNING', 'SCALAR', 'RANGES', 'SET', 'MULTI_ROLE', 'GET_STATE', 'TEARDOWN', 'HEARTBEAT', 'NOPE', ''];

function randomString(): string {
  switch (int(6)) {
    case 0:
      return '';
    case 1:
      return 'x'.repeat(int(100_000));
    case 2:
      return '☃ \u0000 \ud800 \u202e 𝄞';
    case 3:
      return pick(ENUM_NAMES);
    case 4:
      return '../../etc/passwd';
    default:
      return Math.random().toString(36).slice(2);
  }
}

// A raw JSON fragment for a value: literal text, so that numbers JSON cannot hold exactly survive.
function randomFragment(depth = 0): string {
  switch (int(depth > 2 ? 6 : 9)) {
    case 0:
      return 'null';
    case 1:
      return pick(HUGE_NUMBERS);
    case 2:
      return String(int(2 ** 31) * (chance(0.5) ? -1 : 1));
    case 3:
      return JSON.stringify(randomString());
    case 4:
      return pick(['true', 'false']);
    case 5:
      return deepNesting();
    case 6:
      return `[${Array.from({ length: int(4) }, () => randomFragment(depth + 1)).join(',')}]`;
    case 7:
      return `{${Array.from({ length: int(4) }, () => `${JSON.stringify(pick(['value', 'type', 'name', 'x', 'scalar', 'task_id']))}:${randomFragment(depth + 1)}`).join(',')}}`;
    default:
      return '{}';
  }
}

function deepNesting(): string {
  const n = pick([50, 101, 1000, 20_000]);
  return pick([() => '['.repeat(n) + ']'.repeat(n), () => '{"value":'.repeat(n) + '1' + '}'.repeat(n), () => '{"parent":'.repeat(n) + '{"value":"c"}' + '}'.repeat(n)])();
}

// Replaces, deletes or adds one node of a JSON tree; the result is JSON text with placeholders filled in raw.
function mutateTree(root: Json): string {
  const tree = JSON.parse(JSON.stringify(root)) as Json;
  const slots: { parent: Json[] | { [k: string]: Json }; key: string | number }[] = [];
  const walk = (node: Json) => {
    if (Array.isArray(node)) node.forEach((v, i) => (slots.push({ parent: node, key: i }), walk(v)));
    else if (node && typeof node === 'object') for (const k of Object.keys(node)) slots.push({ parent: node, key: k }), walk(node[k]);
  };
  walk(tree);
  const raws: string[] = [];
  const placeholder = (raw: string) => `@@RAW${raws.push(raw) - 1}@@`;
  for (let m = 0, count = 1 + int(3); m < count && slots.length; m++) {
    const slot = pick(slots);
    const parent = slot.parent as Record<string | number, Json>;
    switch (int(7)) {
      case 0:
        if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
        else delete parent[slot.key];
        break;
      case 1:
        parent[slot.key] = null;
        break;
      case 2:
        parent[slot.key] = placeholder(pick(HUGE_NUMBERS));
        break;
      case 3:
        parent[slot.key] = pick(ENUM_NAMES);
        break;
      case 4: {
        const v = parent[slot.key];
        // Wrong types: an array for its element, an object in an array, a number as a string, a string as a number.
        parent[slot.key] = Array.isArray(v) ? (v[0] ?? {}) : v && typeof v === 'object' ? [v] : typeof v === 'number' ? String(v) : typeof v === 'string' ? placeholder('7') : [v];
        break;
      }
      case 5:
        if (!Array.isArray(slot.parent)) parent[pick(['type', 'framework_id', 'value', 'extra', 'uuid', 'resources'])] = placeholder(randomFragment());
        else slot.parent.push(placeholder(randomFragment()));
        break;
      default:
        parent[slot.key] = placeholder(randomFragment());
    }
  }
  return JSON.stringify(tree).replace(/"@@RAW(\d+)@@"/g, (_m, i: string) => raws[Number(i)]);
}

function mutateBytes(input: Buffer): Buffer {
  let b = Buffer.from(input);
  for (let m = 0, count = 1 + int(4); m < count; m++) {
    switch (int(7)) {
      case 0: // flip bytes
        for (let i = 0, n = 1 + int(8); i < n && b.length; i++) b[int(b.length)] ^= 1 << int(8);
        break;
      case 1: // truncate
        b = b.subarray(0, int(b.length + 1));
        break;
      case 2: // random bytes in
        {
          const at = int(b.length + 1);
          b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256))), b.subarray(at)]);
        }
        break;
      case 3: // a huge varint or a length that overruns
        {
          const at = int(b.length + 1);
          b = Buffer.concat([b.subarray(0, at), Buffer.from(pick([[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x0a, 0xff, 0xff, 0xff, 0x0f], [0x12, 0x7f], [0x0b, 0x0b, 0x0b], [0x00]])), b.subarray(at)]);
        }
        break;
      case 4: // duplicate a slice
        {
          const from = int(b.length + 1);
          const to = from + int(b.length - from + 1);
          b = Buffer.concat([b, b.subarray(from, to)]);
        }
        break;
      case 5: // set a byte to an edge value
        if (b.length) b[int(b.length)] = pick([0x00, 0x7f, 0x80, 0xff, 0x22, 0x5c, 0x7b, 0x7d]);
        break;
      default: // drop a byte
        if (b.length) {
          const at = int(b.length);
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        }
    }
  }
  return b.length > MAX_BODY ? b.subarray(0, MAX_BODY) : b;
}

// ---- cases --------------------------------------------------------------------------------------------

interface Case {
  kind: string;
  path: string;
  body: Buffer;
  headers: Record<string, string>;
  method: string;
}

const CONTENT_TYPES = [
  undefined, '', 'application/json', 'application/x-protobuf', 'application/json; charset=utf-8', 'application/json;charset=latin1', 'APPLICATION/JSON',
  'application/x-protobuf; proto=mesos.v1.scheduler.Call', 'text/plain', 'application/recordio', 'multipart/form-data; boundary=x', 'application/*', '*/*', ';;;', 'application/json; charset="utf-8"; q=1',
];
const ACCEPTS = [undefined, '', 'application/json', 'application/x-protobuf', 'application/recordio', 'text/html', '*/*', 'application/*;q=0.5', 'application/json;q=0', 'application/json;q=0, application/x-protobuf;q=0.1', 'q=1;;,,'];

let protoRoot: protobuf.Root;

function loadProtos(): void {
  protoRoot = new protobuf.Root();
  protoRoot.resolvePath = (_o: string, target: string) => path.join(__dirname, '../../core/proto', target);
  protoRoot.loadSync(['mesos/v1/scheduler.proto', 'mesos/v1/master.proto'], { keepCase: true });
  protoRoot.resolveAll();
}

function toProto(api: 'scheduler' | 'operator', seed: Json): Buffer {
  const type = protoRoot.lookupType(api === 'scheduler' ? 'mesos.v1.scheduler.Call' : 'mesos.v1.master.Call');
  return Buffer.from(type.encode(type.fromObject(seed as object)).finish());
}

function makeCase(ids: Ids): Case {
  const api = chance(0.55) ? 'scheduler' : 'operator';
  const seed = pick(api === 'scheduler' ? schedulerSeeds(ids) : operatorSeeds(ids));
  let body: Buffer;
  let kind: string;
  let natural: 'json' | 'protobuf' = 'json';
  const r = rand();
  if (r < 0.3) {
    kind = 'json-tree';
    body = Buffer.from(mutateTree(seed));
  } else if (r < 0.5) {
    kind = 'json-bytes';
    body = mutateBytes(Buffer.from(JSON.stringify(seed)));
  } else if (r < 0.72) {
    kind = 'proto-bytes';
    natural = 'protobuf';
    body = mutateBytes(toProto(api, seed));
  } else if (r < 0.8) {
    kind = chance(0.5) ? 'json-valid' : 'proto-valid';
    natural = kind === 'json-valid' ? 'json' : 'protobuf';
    body = natural === 'json' ? Buffer.from(JSON.stringify(seed)) : toProto(api, seed);
  } else if (r < 0.88) {
    kind = 'random-bytes';
    natural = chance(0.5) ? 'json' : 'protobuf';
    body = Buffer.from(Array.from({ length: int(chance(0.9) ? 200 : 5000) }, () => int(256)));
  } else if (r < 0.95) {
    kind = 'random-json';
    body = Buffer.from(randomFragment());
  } else {
    kind = 'nested';
    body = Buffer.from(`{"type":${JSON.stringify((seed as { type: string }).type)},${JSON.stringify(Object.keys(seed as object).pop() ?? 'x')}:${deepNesting()}}`);
  }
  if (body.length > MAX_BODY) body = body.subarray(0, MAX_BODY);
  const headers: Record<string, string> = {};
  const contentType = chance(0.75) ? (natural === 'json' ? 'application/json' : 'application/x-protobuf') : pick(CONTENT_TYPES);
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  const accept = chance(0.6) ? undefined : pick(ACCEPTS);
  if (accept !== undefined) headers.Accept = accept;
  if (api === 'scheduler' && (seed as { type: string }).type !== 'SUBSCRIBE') {
    const s = rand();
    if (s < 0.8) headers['Mesos-Stream-Id'] = ids.streamId;
    else if (s < 0.9) headers['Mesos-Stream-Id'] = pick(['x', '', '00000000-0000-0000-0000-000000000000']);
  }
  let urlPath = api === 'scheduler' ? '/api/v1/scheduler' : pick(['/api/v1', '/api/v1', '/api/v1/', '/master/api/v1']);
  if (chance(0.05)) urlPath = urlPath.startsWith('/api/v1/scheduler') ? '/api/v1' : '/api/v1/scheduler';
  const method = chance(0.02) ? pick(['GET', 'PUT', 'DELETE', 'PATCH']) : 'POST';
  // Node sends a GET or DELETE body without framing unless told its length; the server would then read it as the next request.
  headers['Content-Length'] = String(body.length);
  return { kind: `${api}/${kind}`, path: urlPath, body, headers, method };
}

// ---- the run ------------------------------------------------------------------------------------------

let running: RunningMaster;
let agent: SimAgent;
let main: SchedulerClient;
const errorLines: string[] = [];
const mains: SchedulerClient[] = [];

/** subscribeMain subscribes the framework whose ids the mutated scheduler calls carry. */
async function subscribeMain(): Promise<SchedulerClient> {
  const c = new SchedulerClient(running.address, true);
  mains.push(c);
  await c.subscribe({ user: 'root', name: 'fuzz-main', roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' }], failover_timeout: 3600 });
  return c;
}

beforeAll(async () => {
  loadProtos();
  running = await runMaster({
    ip: '127.0.0.1',
    port: 0,
    log: createLog({ level: 'error', write: (line) => void errorLines.push(line) }),
    allocationIntervalMs: 50,
    heartbeatIntervalSeconds: 1,
  });
  agent = new SimAgent({ master: running.address, hostname: 'fuzz-agent', resources: 'cpus:64;mem:65536;ports:[31000-32000]', taskBehaviour: () => ({ runMs: 20 }), statusRetryMs: 200 });
  await agent.start();
  main = await subscribeMain();
  await main.next((e) => e.type === 'OFFERS');
});
afterAll(async () => {
  for (const c of mains) c.close();
  await agent?.stop();
  await running?.stop();
});

interface Outcome {
  status?: number;
  error?: string;
  body?: string;
}

function send(httpAgent: http.Agent, address: string, c: Case): Promise<Outcome> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const req = http.request({ host, port: Number(port), method: c.method, path: c.path, headers: c.headers, agent: httpAgent, timeout: 15_000 }, (res) => {
      const status = res.statusCode ?? 0;
      // A SUBSCRIBE that got through: a never-ending stream. The status is what counts; hang up.
      if (status === 200 && res.headers['content-length'] === undefined) {
        resolve({ status });
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8').slice(0, 300) }));
      res.on('error', (err) => resolve({ status, error: `response: ${err.message}` }));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ error: 'no answer within 15 s' });
    });
    req.on('error', (err) => resolve({ error: `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}` }));
    req.end(c.body);
  });
}

describe('fuzzing the scheduler and operator APIs', () => {
  it(`answers ${BODIES} random and mutated bodies with HTTP statuses and keeps serving (seed ${SEED})`, async () => {
    const ids: Ids = { frameworkId: main.frameworkId, streamId: main.streamId, agentId: agent.agentId!, offerIds: [], taskIds: [], otherFrameworks: [] };
    // A mutation may turn a call into a valid TEARDOWN of the fuzz's framework: then a new one takes over.
    let resubscribed = 0;
    let refreshing: Promise<void> | undefined;
    const refreshIds = async () => {
      if (!running.master.frameworks.has(main.frameworkId) || main.closed) {
        main.close();
        main = await subscribeMain();
        resubscribed++;
        Object.assign(ids, { frameworkId: main.frameworkId, streamId: main.streamId });
      }
      ids.offerIds = main.events.filter((e) => e.type === 'OFFERS').slice(-5).flatMap((e) => e.offers.offers.map((o: { id: { value: string } }) => o.id.value));
      ids.taskIds = agent.tasks().map((t) => t.task_id.value).slice(0, 20);
      ids.otherFrameworks = [...running.master.frameworks.keys()].filter((id) => id !== main.frameworkId).slice(0, 20);
    };
    const httpAgent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const statuses = new Map<string, number>();
    const failures: { c: Case; o: Outcome }[] = [];
    const started = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < BODIES) {
        const i = next++;
        if (i % 100 === 0) await (refreshing ??= refreshIds().finally(() => (refreshing = undefined)));
        const c = makeCase(ids);
        const o = await send(httpAgent, running.address, c);
        const key = o.status !== undefined ? String(o.status) : 'error';
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (o.error !== undefined || o.status === undefined || (o.status >= 500 && !DOCUMENTED_5XX.has(o.status))) failures.push({ c, o });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    httpAgent.destroy();
    const seconds = (Date.now() - started) / 1000;
    const summary = [...statuses].sort().map(([s, n]) => `${s}: ${n}`).join(', ');
    // The figures of the run, for whoever reads the test output.
    process.stdout.write(`fuzz: ${BODIES} bodies in ${seconds.toFixed(1)} s (seed ${SEED}); statuses ${summary}; fuzz framework torn down and replaced ${resubscribed} times\n`);
    const describeFailure = ({ c, o }: { c: Case; o: Outcome }) =>
      `${c.kind} ${c.method} ${c.path} ${JSON.stringify(c.headers)} -> ${o.error ?? o.status} ${o.body ?? ''}\n  body (base64, first 400 bytes): ${c.body.subarray(0, 400).toString('base64')}`;
    expect(failures.slice(0, 5).map(describeFailure)).toEqual([]);
    expect(errorLines.filter((l) => /operator stream|HTTP .* failed/.test(l))).toEqual([]);
    expect(statuses.get('200')).toBeGreaterThan(0);
    expect(statuses.get('202')).toBeGreaterThan(0);
    expect(statuses.get('400')).toBeGreaterThan(0);

    // The master still serves: /health, its state in every form (whatever the fuzz left in it encodes),
    // and a normal SUBSCRIBE.
    expect((await post(running.address, '/health', '', {}, 'GET')).status).toBe(200);
    const state = await operatorCall(running.address, { type: 'GET_STATE' });
    expect(state.type).toBe('GET_STATE');
    const Call = protoRoot.lookupType('mesos.v1.master.Call');
    const Response = protoRoot.lookupType('mesos.v1.master.Response');
    const proto = await post(running.address, '/api/v1', Buffer.from(Call.encode(Call.fromObject({ type: 'GET_STATE' })).finish()), { 'Content-Type': 'application/x-protobuf', Accept: 'application/x-protobuf' });
    expect(proto.status).toBe(200);
    expect(Response.toObject(Response.decode(proto.bytes), { enums: String }).type).toBe('GET_STATE');
    for (const p of ['/state', '/metrics', '/metrics/snapshot']) expect((await post(running.address, p, '', {}, 'GET')).status).toBe(200);
    const after = new SchedulerClient(running.address, true);
    try {
      const subscribed = await after.subscribe({ user: 'root', name: 'after-fuzz', roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' }] });
      expect(subscribed.subscribed.framework_id.value).toBeTruthy();
      // The fuzz's framework is subscribed on its stream unless a fuzzed TEARDOWN just removed it.
      const f = running.master.frameworks.get(main.frameworkId);
      if (f) expect(f.subscriber?.streamId).toBe(main.streamId);
      await waitFor(() => running.master.agents.get(agent.agentId!)?.conn !== undefined, 5000, 'the agent to stay connected');
      expect((await after.call({ type: 'REVIVE' })).status).toBe(202);
    } finally {
      await after.call({ type: 'TEARDOWN' }).catch(() => undefined);
      after.close();
    }
  }, 120_000);
});
