// Every scheduler call and event, and the operator GET_STATE call and response, survive
// JSON -> object -> protobuf -> object -> JSON; our protobuf bytes are the ones protobufjs itself writes.
import { decodeJson, encodeJson } from './json-codec';
import { decodeProto, encodeProto } from './proto-codec';
import { lookupType, type PlainMessage } from './mesos-types';
import { FW, STATE_RESPONSE } from './reference-json';


// The reference's example bodies (shared/reference/mesos-v1-wire.md), verbatim.
const REFERENCE_SUBSCRIBE = `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"fw","failover_timeout":604800,"roles":["*"],"capabilities":[{"type":"MULTI_ROLE"}]}}}`;
const REFERENCE_OFFERS = `{"type":"OFFERS","offers":{"offers":[{"id":{"value":"M-O1"},"framework_id":{"value":"M-0000"},"agent_id":{"value":"M-S0"},"hostname":"agent1","url":{"scheme":"http","address":{"hostname":"agent1","ip":"10.0.0.5","port":5051},"path":"/slave(1)"},"allocation_info":{"role":"*"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":4},"role":"*","allocation_info":{"role":"*"}}]}]}}`;
const REFERENCE_UPDATE = `{"type":"UPDATE","update":{"status":{"task_id":{"value":"t1"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","agent_id":{"value":"M-S0"},"executor_id":{"value":"t1"},"timestamp":1700000000.12,"uuid":"hTaLQ0b5Q1OZuab7QclTKQ=="}}}`;

const TASK = `{"name":"web","task_id":{"value":"t1"},"agent_id":{"value":"M-S0"},
  "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}},{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31001}]}}],
  "command":{"value":"python3 -m http.server $PORT0","environment":{"variables":[{"name":"MODE","value":"prod"}]},"uris":[{"value":"http://x/app.tgz"}]},
  "container":{"type":"DOCKER","docker":{"image":"nginx:1.25"},"volumes":[{"container_path":"/data","mode":"RW","source":{"type":"DOCKER_VOLUME","docker_volume":{"driver":"rexray","name":"vol1","driver_options":{"parameter":[{"key":"size","value":"5"}]}}}}]},
  "health_check":{"type":"HTTP","http":{"port":8080,"path":"/health"}},
  "kill_policy":{"grace_period":{"nanoseconds":30000000000}},
  "labels":{"labels":[{"key":"team","value":"web"}]},
  "limits":{"mem":{"value":1024}}}`;

const CALLS: Record<string, string> = {
  SUBSCRIBE: REFERENCE_SUBSCRIBE,
  TEARDOWN: `{${FW},"type":"TEARDOWN"}`,
  ACCEPT: `{${FW},"type":"ACCEPT","accept":{"offer_ids":[{"value":"M-O1"}],"operations":[
    {"type":"LAUNCH","launch":{"task_infos":[${TASK}]}},
    {"type":"LAUNCH_GROUP","launch_group":{"executor":{"type":"DEFAULT","executor_id":{"value":"e1"},"resources":[{"name":"mem","type":"SCALAR","scalar":{"value":32}}]},"task_group":{"tasks":[${TASK}]}}},
    {"type":"RESERVE","reserve":{"resources":[{"name":"disk","type":"SCALAR","scalar":{"value":100},"reservations":[{"type":"DYNAMIC","role":"db","principal":"p"}]}]}},
    {"type":"UNRESERVE","unreserve":{"resources":[{"name":"disk","type":"SCALAR","scalar":{"value":100},"reservations":[{"type":"DYNAMIC","role":"db"}]}]}}],
    "filters":{"refuse_seconds":30}}}`,
  DECLINE: `{${FW},"type":"DECLINE","decline":{"offer_ids":[{"value":"M-O1"},{"value":"M-O2"}],"filters":{"refuse_seconds":5.0}}}`,
  REVIVE: `{${FW},"type":"REVIVE","revive":{"roles":["*"]}}`,
  KILL: `{${FW},"type":"KILL","kill":{"task_id":{"value":"t1"},"agent_id":{"value":"M-S0"},"kill_policy":{"grace_period":{"nanoseconds":5000000000}}}}`,
  SHUTDOWN: `{${FW},"type":"SHUTDOWN","shutdown":{"executor_id":{"value":"e1"},"agent_id":{"value":"M-S0"}}}`,
  ACKNOWLEDGE: `{${FW},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"M-S0"},"task_id":{"value":"t1"},"uuid":"hTaLQ0b5Q1OZuab7QclTKQ=="}}`,
  RECONCILE: `{${FW},"type":"RECONCILE","reconcile":{"tasks":[{"task_id":{"value":"t1"},"agent_id":{"value":"M-S0"}},{"task_id":{"value":"t2"}}]}}`,
  MESSAGE: `{${FW},"type":"MESSAGE","message":{"agent_id":{"value":"M-S0"},"executor_id":{"value":"e1"},"data":"aGVsbG8="}}`,
  REQUEST: `{${FW},"type":"REQUEST","request":{"requests":[{"agent_id":{"value":"M-S0"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]}]}}`,
  SUPPRESS: `{${FW},"type":"SUPPRESS","suppress":{"roles":["batch"]}}`,
  ACCEPT_INVERSE_OFFERS: `{${FW},"type":"ACCEPT_INVERSE_OFFERS","accept_inverse_offers":{"inverse_offer_ids":[{"value":"M-O9"}],"filters":{"refuse_seconds":60}}}`,
  DECLINE_INVERSE_OFFERS: `{${FW},"type":"DECLINE_INVERSE_OFFERS","decline_inverse_offers":{"inverse_offer_ids":[{"value":"M-O9"}]}}`,
  ACKNOWLEDGE_OPERATION_STATUS: `{${FW},"type":"ACKNOWLEDGE_OPERATION_STATUS","acknowledge_operation_status":{"agent_id":{"value":"M-S0"},"uuid":"hTaLQ0b5Q1OZuab7QclTKQ==","operation_id":{"value":"op1"}}}`,
  RECONCILE_OPERATIONS: `{${FW},"type":"RECONCILE_OPERATIONS","reconcile_operations":{"operations":[{"operation_id":{"value":"op1"},"agent_id":{"value":"M-S0"}}]}}`,
  UPDATE_FRAMEWORK: `{${FW},"type":"UPDATE_FRAMEWORK","update_framework":{"framework_info":{"user":"root","name":"fw","id":{"value":"M-0000"},"roles":["web","batch"],
    "offer_filters":{"web":{"min_allocatable_resources":{"quantities":[{"quantities":{"cpus":{"value":1}}}]}}}},"suppressed_roles":["batch"],
    "offer_constraints":{"role_constraints":{"web":{"groups":[{"attribute_constraints":[{"selector":{"attribute_name":"rack"},"predicate":{"text_equals":{"value":"r1"}}}]}]}}}}}`,
};

const EVENTS: Record<string, string> = {
  SUBSCRIBED: `{"type":"SUBSCRIBED","subscribed":{${FW},"heartbeat_interval_seconds":15,"master_info":{"id":"M","ip":16777343,"port":5050,"hostname":"master1","version":"1.11.0","address":{"hostname":"master1","ip":"127.0.0.1","port":5050}}}}`,
  OFFERS: REFERENCE_OFFERS,
  INVERSE_OFFERS: `{"type":"INVERSE_OFFERS","inverse_offers":{"inverse_offers":[{"id":{"value":"M-O9"},${FW},"agent_id":{"value":"M-S0"},"unavailability":{"start":{"nanoseconds":1700000000123456789},"duration":{"nanoseconds":3600000000000}}}]}}`,
  RESCIND: `{"type":"RESCIND","rescind":{"offer_id":{"value":"M-O1"}}}`,
  RESCIND_INVERSE_OFFER: `{"type":"RESCIND_INVERSE_OFFER","rescind_inverse_offer":{"inverse_offer_id":{"value":"M-O9"}}}`,
  UPDATE: REFERENCE_UPDATE,
  UPDATE_OPERATION_STATUS: `{"type":"UPDATE_OPERATION_STATUS","update_operation_status":{"status":{"operation_id":{"value":"op1"},"state":"OPERATION_FINISHED","uuid":{"value":"hTaLQ0b5Q1OZuab7QclTKQ=="},"agent_id":{"value":"M-S0"}}}}`,
  MESSAGE: `{"type":"MESSAGE","message":{"agent_id":{"value":"M-S0"},"executor_id":{"value":"e1"},"data":"aGk="}}`,
  FAILURE: `{"type":"FAILURE","failure":{"agent_id":{"value":"M-S0"},"executor_id":{"value":"e1"},"status":9}}`,
  ERROR: `{"type":"ERROR","error":{"message":"Framework has been removed"}}`,
  HEARTBEAT: `{"type":"HEARTBEAT"}`,
};


function roundTrip(typeName: string, text: string): void {
  const decoded = decodeJson(typeName, text);
  const bytes = encodeProto(typeName, decoded);

  // Our bytes are protobufjs's own encoding of the same message.
  const type = lookupType(typeName);
  expect(bytes.equals(Buffer.from(type.encode(type.fromObject(decoded)).finish()))).toBe(true);

  const again = decodeProto<PlainMessage>(typeName, bytes);
  expect(again).toEqual(decoded);

  const json = encodeJson(typeName, again);
  expect(JSON.parse(json)).toMatchObject(JSON.parse(text));
  expect(encodeJson(typeName, decodeJson(typeName, json))).toBe(json);
}

describe('scheduler.Call round trip', () => {
  it('covers every call type but UNKNOWN', () => {
    const names = Object.keys(lookupType('mesos.v1.scheduler.Call').lookupEnum('Type').values).filter((n) => n !== 'UNKNOWN');
    expect(Object.keys(CALLS).sort()).toEqual(names.sort());
  });

  it.each(Object.entries(CALLS))('%s', (_name, text) => roundTrip('mesos.v1.scheduler.Call', text));

  it('writes the defaults Mesos writes: CommandInfo.shell, URI.extract, Filters, DockerInfo', () => {
    const json = JSON.parse(encodeJson('mesos.v1.scheduler.Call', decodeJson('mesos.v1.scheduler.Call', CALLS.ACCEPT)));
    const task = json.accept.operations[0].launch.task_infos[0];
    expect(task.command.shell).toBe(true);
    expect(task.command.uris[0].extract).toBe(true);
    expect(task.container.docker).toEqual({ image: 'nginx:1.25', network: 'HOST', privileged: false });
    expect(task.health_check).toMatchObject({ delay_seconds: 15, interval_seconds: 10, timeout_seconds: 20, consecutive_failures: 3, grace_period_seconds: 10 });
    expect(task.command.environment.variables[0].type).toBe('VALUE');
    // Resource.role has a default but is deprecated: Mesos does not write it.
    expect(task.resources[0]).not.toHaveProperty('role');
  });
});

describe('scheduler.Event round trip', () => {
  it('covers every event type but UNKNOWN', () => {
    const names = Object.keys(lookupType('mesos.v1.scheduler.Event').lookupEnum('Type').values).filter((n) => n !== 'UNKNOWN');
    expect(Object.keys(EVENTS).sort()).toEqual(names.sort());
  });

  it.each(Object.entries(EVENTS))('%s', (_name, text) => roundTrip('mesos.v1.scheduler.Event', text));

  it('keeps the fields clients rely on in OFFERS and UPDATE', () => {
    const offers = decodeJson<PlainMessage>('mesos.v1.scheduler.Event', REFERENCE_OFFERS);
    expect(offers).toMatchObject({ offers: { offers: [{ url: { address: { ip: '10.0.0.5' } }, resources: [{ type: 'SCALAR', scalar: { value: 4 } }] }] } });
    const update = decodeProto<{ update: { status: { uuid: Buffer } } }>(
      'mesos.v1.scheduler.Event',
      encodeProto('mesos.v1.scheduler.Event', decodeJson('mesos.v1.scheduler.Event', REFERENCE_UPDATE)),
    );
    expect(update.update.status.uuid).toHaveLength(16);
  });
});

describe('operator API round trip', () => {
  it('master.Call GET_STATE', () => roundTrip('mesos.v1.master.Call', '{"type":"GET_STATE"}'));

  it('master.Response GET_STATE', () => roundTrip('mesos.v1.master.Response', STATE_RESPONSE));

  it('master.Event SUBSCRIBED carries the state', () => {
    const state = (JSON.parse(STATE_RESPONSE) as { get_state: object }).get_state;
    roundTrip('mesos.v1.master.Event', JSON.stringify({ type: 'SUBSCRIBED', subscribed: { get_state: state, heartbeat_interval_seconds: 5 } }));
  });
});
