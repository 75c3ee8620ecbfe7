/**
 * Reference messages in Mesos's JSON, as a Mesos master writes them, shared by the wire codec tests
 * (round-trip.test.ts, proto-compiled.test.ts): every field kind a GET_STATE answer holds.
 */

/** FW is a call's or event's framework id field. */
export const FW = '"framework_id":{"value":"M-0000"}';

/** STATE_RESPONSE is a GET_STATE answer with a task, a completed task, an executor, a framework with an offer and an agent. */
export const STATE_RESPONSE = `{"type":"GET_STATE","get_state":{
  "get_tasks":{"tasks":[{"name":"web","task_id":{"value":"t1"},${FW},"executor_id":{"value":"t1"},"agent_id":{"value":"M-S0"},"state":"TASK_RUNNING",
    "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}}],
    "statuses":[{"task_id":{"value":"t1"},"state":"TASK_RUNNING","timestamp":1700000000.5,"uuid":"hTaLQ0b5Q1OZuab7QclTKQ==","reason":"REASON_RECONCILIATION"}],
    "status_update_state":"TASK_RUNNING","status_update_uuid":"hTaLQ0b5Q1OZuab7QclTKQ==","user":"root","limits":{"cpus":{"value":2}}}],
    "completed_tasks":[{"name":"old","task_id":{"value":"t0"},${FW},"agent_id":{"value":"M-S0"},"state":"TASK_FINISHED"}]},
  "get_executors":{"executors":[{"executor_info":{"executor_id":{"value":"e1"},"command":{"value":"./exec"}},"agent_id":{"value":"M-S0"}}]},
  "get_frameworks":{"frameworks":[{"framework_info":{"user":"root","name":"fw","id":{"value":"M-0000"},"roles":["*"]},"active":true,"connected":true,"recovered":false,
    "registered_time":{"nanoseconds":1700000000000000000},"offers":[{"id":{"value":"M-O1"},${FW},"agent_id":{"value":"M-S0"},"hostname":"agent1"}]}]},
  "get_agents":{"agents":[{"agent_info":{"hostname":"agent1","port":5051,"id":{"value":"M-S0"},"attributes":[{"name":"rack","type":"TEXT","text":{"value":"r1"}}]},
    "active":true,"version":"1.11.0","pid":"slave(1)@10.0.0.5:5051",
    "total_resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]}},{"name":"zone","type":"SET","set":{"item":["a","b"]}}],
    "capabilities":[{"type":"MULTI_ROLE"},{"type":"TASK_RESOURCE_LIMITS"}],"drain_info":{"state":"DRAINING","config":{"mark_gone":true}}}]}}}`;
