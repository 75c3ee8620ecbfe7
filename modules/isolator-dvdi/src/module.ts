/**
 * The module definition of `@tessera/isolator-dvdi`: what `serve()` runs. Kept apart from main.ts so
 * tests can serve it in-process and the package can export it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TesseraError, type ContainerID, type ModuleDefinition } from '@tessera/modules-api';
import pkg from '../package.json';
import { DriverRegistry } from './docker/registry';
import { dvdiError } from './errors';
import { CheckpointStore } from './isolator/checkpoints';
import { VolumeIsolator } from './isolator/volume-isolator';
import { PARAMETERS_SCHEMA, resolveParameters, type DvdiParameters } from './parameters';

/** dvdiModule builds the module definition. `onConfigured` hands tests the isolator behind it. */
export function dvdiModule(onConfigured?: (isolator: VolumeIsolator) => void): ModuleDefinition<DvdiParameters> {
  let isolator: VolumeIsolator | undefined;
  const configured = (): VolumeIsolator => {
    if (!isolator) throw new TesseraError('TSR_NOT_CONFIGURED', 'isolator-dvdi: called before Configure');
    return isolator;
  };
  const idOf = (id: ContainerID | undefined, call: string): string => {
    if (!id?.value) throw new TesseraError('TSR_INVALID_ARGUMENT', `${call}: container_id is required`);
    return id.parent ? `${idOf(id.parent, call)}.${id.value}` : id.value;
  };
  return {
    name: 'isolator-dvdi',
    version: pkg.version,
    description: 'External volumes through Docker volume plugins (Mesos docker/volume isolator, mesos-module-dvdi env form)',
    parameters: PARAMETERS_SCHEMA,
    configure(ctx) {
      let settings;
      try {
        settings = resolveParameters(ctx.parameters ?? {}, ctx.stateDir);
      } catch (err) {
        throw new TesseraError('TSR_PARAMETERS_INVALID', `isolator-dvdi: ${(err as Error).message}`);
      }
      const warnings: string[] = [];
      let checkpoints: CheckpointStore | undefined;
      let mountId = `tessera-dvdi-${crypto.randomBytes(6).toString('hex')}`;
      if (settings.stateDir) {
        checkpoints = new CheckpointStore(settings.stateDir);
        mountId = stableMountId(settings.stateDir, mountId);
      } else {
        warnings.push('isolator-dvdi has no state directory (no agent --work_dir, no state_dir parameter): containers asking for Docker volumes will be refused');
      }
      const registry = new DriverRegistry({ socketDirs: settings.socketDirs, specDirs: settings.specDirs, drivers: settings.drivers, timeoutMs: settings.pluginTimeoutMs });
      isolator = new VolumeIsolator({ registry, checkpoints, mountId, legacy: { enabled: settings.legacyEnv, defaultDriver: settings.defaultDriver }, log: ctx.log });
      const checkpointed = isolator.load();
      ctx.log.info('isolator-dvdi configured', { state_dir: settings.stateDir ?? null, mount_id: mountId, checkpointed_containers: checkpointed, plugin_timeout_ms: settings.pluginTimeoutMs });
      onConfigured?.(isolator);
      return warnings;
    },
    isolator: {
      async prepare(req, ctx) {
        return configured().prepare(idOf(req.containerId, 'prepare'), req.containerConfig ?? {}, ctx.signal);
      },
      async cleanup(req) {
        await configured().cleanup(idOf(req.containerId, 'cleanup'));
      },
      async recover(req) {
        const live = (req.states ?? []).map((s) => idOf(s.containerId, 'recover'));
        const orphans = (req.orphans ?? []).map((o) => idOf(o, 'recover'));
        await configured().recover(live, orphans);
      },
    },
  };
}

// stableMountId keeps the module's mount ID in the state directory, so a restarted module unmounts with
// the ID it mounted with.
function stableMountId(stateDir: string, fresh: string): string {
  const file = path.join(stateDir, 'mount-id');
  try {
    const known = fs.readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_.-]{1,128}$/.test(known)) return known;
  } catch {
    // first start: keep the fresh one
  }
  try {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, `${fresh}\n`, { mode: 0o600 });
  } catch (err) {
    throw dvdiError('DVDI_CHECKPOINT_FAILED', `cannot write ${file}: ${(err as Error).message}: the operator must fix the permissions of the state directory`, err);
  }
  return fresh;
}
