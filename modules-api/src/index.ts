/**
 * `@tessera/modules-api`: the Tessera module ABI v1 — the SDK module authors build on, the clients the
 * core calls modules with, and the harness and conformance kit for tests.
 *
 * A module is a process that calls {@link serve}:
 * ```ts
 * import { serve } from '@tessera/modules-api';
 *
 * serve({
 *   name: 'isolator-hello',
 *   version: '1.0.0',
 *   parameters: { type: 'object', properties: { greeting: { type: 'string' } }, additionalProperties: false },
 *   isolator: {
 *     async prepare() {
 *       return { environment: { variables: [{ name: 'GREETING', value: 'hello' }] } };
 *     },
 *     async cleanup() {},
 *   },
 * });
 * ```
 * The SDK performs the handshake, derives capabilities from the handlers present, checks the core's
 * token, serves grpc.health.v1, forwards logs and exits when the core goes away. See docs/abi.md.
 *
 * @packageDocumentation
 */
export { serve, type ServeOptions } from './sdk/serve';
export { ModuleServer, validateDefinition, definedKinds } from './sdk/server';
export { jsonLineLogger } from './sdk/logger';
export type {
  ModuleDefinition,
  ConfigureContext,
  CallContext,
  Logger,
  Streamed,
  IsolatorHandlers,
  ContainerizerHandlers,
  AllocatorHandlers,
  HookHandlers,
  ContenderHandlers,
  DetectorHandlers,
} from './sdk/handlers';
export { TesseraError, AbiErrorCodes, type AbiErrorCode } from './errors';
export { ABI_VERSION, SDK_NAME, HANDSHAKE_VERSION, ENV, TOKEN_METADATA, handshakeLine } from './version';
export { KINDS, KIND_SPECS, isKind, capabilitiesOf, type Kind, type KindSpec, type MethodSpec } from './kinds';
export { launchModule, parseHandshake, makeRuntimeDir, type LaunchSpec, type Launched } from './client/launch';
export { ModuleConnection, type Service, type CallOptions, type CallObserver, type ServerStream, type BidiStream } from './client/connection';
export { negotiate, checkModuleInfo, describeVersions, type Negotiated } from './client/negotiate';
export {
  checkParameters,
  validateParameters,
  parameterPointer,
  schemaDraft,
  ParametersSchemaError,
  type ParameterProblem,
  type ParameterCheckOptions,
} from './client/parameters';
export {
  startModule,
  configureModule,
  stopProcess,
  exitedError,
  ConfiguredModule,
  StartedModule,
  SUPPORTED_ABI,
  supportedUpTo,
  type CoreAbi,
  type ConfigureOptions,
  type StartOptions,
} from './client/start';
export {
  IsolatorClient,
  ContainerizerClient,
  AllocatorClient,
  HookClient,
  ContenderClient,
  DetectorClient,
  type Caller,
  type HookName,
} from './client/kind-clients';
export { MODULES_SCHEMA } from './schema';
export {
  runConformance,
  renderText,
  renderJunit,
  COVERED_KINDS,
  DEFAULT_TIMEOUT_MS,
  type ConformanceOptions,
  type Report,
  type CheckResult,
  type CheckStatus,
  type ModuleCommand,
} from './conformance';
export { serveInProcess, InProcessModule, type InProcessOptions } from './testing';
export * from './generated/types';
