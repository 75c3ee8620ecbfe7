/**
 * Error codes of `@tessera/core` (the ABI's own codes are in `@tessera/modules-api`'s errors.ts).
 * Listed in docs/errors.md; a retired code is never reused.
 */
export { TesseraError } from '@tessera/modules-api';
import { AgentErrorCodes } from './agent/agent-errors';
import { ContainerizerErrorCodes } from './agent/containerizer/errors';

/** CoreErrorCodes catalogues the core's codes with a one-line description each. */
export const CoreErrorCodes = {
  TSR_MODULES_JSON_READ: 'modules.json cannot be read (missing file, permissions).',
  TSR_MODULES_JSON_SYNTAX: 'modules.json is not valid JSON; the message gives line and column.',
  TSR_MODULES_JSON_INVALID: 'modules.json has an unknown field, a wrong type or a missing field; the message gives the JSON path.',
  TSR_MODULES_JSON_DUPLICATE_NAME: 'Two modules in modules.json share one name.',
  TSR_MODULE_PACKAGE_NOT_FOUND: 'A module entry names a package that is not installed next to modules.json.',
  TSR_MODULE_PACKAGE_NOT_A_MODULE: 'A package has no "tessera.module" in its package.json.',
  TSR_MODULE_FILE_NOT_FOUND: 'A module file (a built module.js) does not exist.',
  TSR_MODULE_COMMAND_NOT_EXECUTABLE: 'A module command is missing or not executable.',
  TSR_MODULE_UNKNOWN: 'A flag selects a module name that modules.json does not define.',
  TSR_MODULE_STOPPED: 'A call reached a module that the core has stopped.',
  TSR_MODULES_FAILED: 'Several modules failed to start; the message lists each failure with its own code.',
  TSR_FLAG_INVALID: 'A command-line flag or TESSERA_<FLAG> variable has a bad value.',
  TSR_AGENT_PROTOCOL_MISMATCH: 'The agent speaks another major version of the agent protocol than the master (or sent none).',
  TSR_AGENT_REFUSED: 'The master refused the agent; the message says why and what to do.',
  TSR_AGENT_CLOSED: "The master closed the agent's stream (shutdown, the agent was removed or reconnected); the agent reconnects.",
  TSR_AGENT_DISCONNECTED: 'The agent went away without a goodbye: its stream was reset or its connection lost.',
  TSR_AGENT_BACKLOG: 'The agent stopped reading and too many bytes were queued for it: the master closed its connection.',
  TSR_RUN_NO_OFFER: '`tessera run` got no offer that fits the task within --timeout.',
  TSR_RUN_FAILED: '`tessera run`: the master refused the framework or one of its calls, or dropped its event stream.',
  TSR_RUN_MASTER_UNREACHABLE: '`tessera run` cannot reach the master at --master (refused, unknown host, no answer in time).',
  TSR_RUN_INTERRUPTED: '`tessera run` was interrupted (SIGINT/SIGTERM) before its task was launched.',
  TSR_PORT_IN_USE: "Another process listens on the master's (or the agent's) host:port.",
  TSR_LISTEN_FAILED: "The master's (or the agent's) port could not be opened (permissions, unknown address).",
  TSR_LOCAL_AGENT_NOT_REGISTERED: "`tessera local`: the agent did not register with the master in time.",
  TSR_REGISTRY_CORRUPT: "The master's registry in --work_dir does not read back; the message names the file and line.",
  TSR_REGISTRY_WRITE_FAILED: "The master cannot create, open or write its registry in --work_dir (disk full, permissions).",
  TSR_WORK_DIR_LOCKED: 'Another live master (or agent) holds the registry (or checkpoint) in this --work_dir; the message names its pid.',
  TSR_TASK_INVALID: 'An isolator module found the task itself invalid (e.g. a fractional gpus request): the agent reports TASK_ERROR with REASON_TASK_INVALID.',
  ...AgentErrorCodes,
  ...ContainerizerErrorCodes,
} as const;

/** CoreErrorCode is one of {@link CoreErrorCodes}. */
export type CoreErrorCode = keyof typeof CoreErrorCodes;
