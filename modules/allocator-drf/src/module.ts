/**
 * The module definition of `@tessera/allocator-drf`: what `serve()` runs. Kept apart from main.ts so
 * tests can serve it in-process and the package can export it.
 */
import type { AllocatorInput, AllocatorOutput, CallContext, ModuleDefinition } from '@tessera/modules-api';
import pkg from '../package.json';
import { DrfParameters, ParameterError, PARAMETERS_SCHEMA, resolveParameters, type DrfSettings } from './parameters';
import { AllocatorSession } from './stream/session';
import { TesseraError } from '@tessera/modules-api';

/** drfModule builds the module definition; `now` replaces the clock in tests. */
export function drfModule(now?: () => number): ModuleDefinition<DrfParameters> {
  let settings: DrfSettings = resolveParameters({});
  return {
    name: 'allocator-drf',
    version: pkg.version,
    description: "Hierarchical Dominant Resource Fairness with the semantics of Mesos's built-in allocator",
    parameters: PARAMETERS_SCHEMA,
    configure(ctx) {
      try {
        settings = resolveParameters(ctx.parameters);
      } catch (err) {
        if (err instanceof ParameterError) throw new TesseraError('TSR_PARAMETERS_INVALID', err.message);
        throw err;
      }
      ctx.log.info('allocator configured', {
        allocation_interval_ms: settings.allocationIntervalMs,
        event_batch_window_ms: settings.eventBatchWindowMs,
        filter_gpu_resources: settings.engine.filterGpuResources,
      });
    },
    allocator: {
      allocate(inputs: AsyncIterable<AllocatorInput>, ctx: CallContext): AsyncIterable<AllocatorOutput> {
        ctx.log.info('allocator stream opened');
        return new AllocatorSession(settings, { log: ctx.log, now }).run(inputs);
      },
    },
  };
}
