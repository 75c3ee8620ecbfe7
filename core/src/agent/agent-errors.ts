/**
 * Error codes of the agent (`tessera agent`). They are part of the core's catalogue (CoreErrorCodes in
 * core/src/errors.ts spreads them in) and explained in docs/errors.md; a retired code is never reused.
 *
 * ```ts
 * throw new TesseraError('TSR_AGENT_ISOLATION_UNKNOWN', `--isolation names "gpu", which is neither ...`);
 * ```
 */

/** AgentErrorCodes catalogues the agent's codes with a one-line description each. */
export const AgentErrorCodes = {
  TSR_AGENT_ISOLATION_UNKNOWN: '--isolation names an isolator that is neither built in nor a module in --modules.',
  TSR_AGENT_WORK_DIR: "The agent cannot create or write its --work_dir (or --runtime_dir): permissions, read-only or full disk.",
  TSR_AGENT_CHECKPOINT_CORRUPT: "The agent's checkpoint under <work_dir>/meta does not read back; the message names the file and line.",
  TSR_AGENT_CHECKPOINT_WRITE_FAILED: "The agent cannot write its checkpoint under <work_dir>/meta (disk full, permissions).",
  TSR_AGENT_HOOK_FAILED: "An agent hook module whose onError is \"fail\" failed to decorate the agent's resources or attributes at startup; the agent does not start.",
} as const;

/** AgentErrorCode is one of {@link AgentErrorCodes}. */
export type AgentErrorCode = keyof typeof AgentErrorCodes;
