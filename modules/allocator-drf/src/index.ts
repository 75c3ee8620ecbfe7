/**
 * `@tessera/allocator-drf`: hierarchical Dominant Resource Fairness for Tessera, as a module process
 * (`dist/module.js`, run by the core from modules.json) and as a library (the engine, for tests and tools).
 *
 * ```ts
 * import { DrfAllocator, parseResources } from '@tessera/allocator-drf';
 *
 * const a = new DrfAllocator();
 * a.addAgent({ info: { id: { value: 'a1' }, hostname: 'h1' }, total: parseResources('cpus:4;mem:4096'), active: true });
 * a.addFramework({ info: { id: { value: 'f1' }, roles: ['*'] }, active: true });
 * const offers = a.allocate(Date.now()); // [{ frameworkId: 'f1', agentId: 'a1', role: '*', resources: [...] }]
 * ```
 *
 * @packageDocumentation
 */
export * from './engine';
export { drfModule } from './module';
export { PARAMETERS_SCHEMA, resolveParameters, parseDurationMs, parseMinAllocatable, ParameterError, type DrfParameters, type DrfSettings } from './parameters';
export { AllocatorSession, OFFERS_CHUNK, type SessionOptions } from './stream/session';
