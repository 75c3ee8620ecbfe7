/**
 * The module definition of `@tessera/isolator-gpu`: what `serve()` runs. Kept apart from main.ts so
 * tests can serve it in-process and the package can export it.
 *
 * Configure discovers the GPUs (or checks the operator's list), finds the devices hierarchy, reads the
 * control devices, builds the driver volume, loads the assignment checkpoint and starts the health
 * polls. No driver, or no GPU, is not an error: the module says so and advertises none.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CallContext, ModuleDefinition } from '@tessera/modules-api';
import pkg from '../package.json';
import { CheckpointStore } from './allocation/checkpoint';
import { controlDevices, readProcDevices } from './discovery/device-nodes';
import { gpuLabel } from './discovery/gpu';
import { selectGpus } from './discovery/inventory';
import { discover, type Discovery } from './discovery/discover';
import { DevicesCgroup } from './isolation/devices-cgroup';
import { buildDriverVolume, livesUnder, type DriverVolume } from './isolation/driver-volume';
import { GpuIsolator } from './isolator';
import { PARAMETERS_SCHEMA, resolveParameters, type GpuParameters } from './parameters';

/** GpuModuleOptions are for tests and tools embedding the module. */
export interface GpuModuleOptions {
  /** onConfigured receives the isolator once Configure made it (tests inspect its table). */
  onConfigured?: (isolator: GpuIsolator) => void;
}

/** gpuModule builds the module definition. */
export function gpuModule(options: GpuModuleOptions = {}): ModuleDefinition<GpuParameters> {
  let isolator: GpuIsolator | undefined;
  const get = (ctx: CallContext): GpuIsolator => {
    // The SDK calls nothing before Configure; this is for a definition used outside serve().
    if (!isolator) throw new Error(`isolator-gpu: call before Configure (ABI ${ctx.negotiated})`);
    return isolator;
  };
  return {
    name: 'isolator-gpu',
    version: pkg.version,
    description: 'NVIDIA GPUs: discovery through nvidia-smi (minor numbers from the driver), whole-GPU allocation kept across restarts, devices cgroup isolation, driver volume, usage',
    parameters: PARAMETERS_SCHEMA,
    async configure(ctx) {
      const settings = resolveParameters(ctx.parameters ?? {}, ctx.stateDir);
      const warnings: string[] = [];
      const found: Discovery =
        settings.devices?.length === 0 ? { kind: 'gpus', gpus: [], lost: [], warnings: [] } : await discover({ nvidiaSmi: settings.nvidiaSmi, timeoutMs: settings.commandTimeoutMs, procDriverNvidia: settings.procDriverNvidia });
      if (found.kind === 'gpus') warnings.push(...found.warnings);
      const inventory = selectGpus(found, settings.devices, settings.devRoot);
      for (const note of inventory.notes) ctx.log.info(note);

      let cgroup: DevicesCgroup | undefined;
      try {
        cgroup = DevicesCgroup.locate(settings.root, settings.cgroupRoot);
        cgroup.setup();
      } catch (err) {
        if (inventory.gpus.length > 0) throw err;
        warnings.push(`${(err as Error).message} (no GPUs here, so nothing needs isolating)`);
        cgroup = undefined;
      }

      const controls = controlDevices(settings.devRoot, readProcDevices(settings.procDevices));
      if (inventory.gpus.length > 0 && !controls.some((c) => c.path.endsWith('nvidia-uvm'))) {
        ctx.log.info(`nvidia-uvm is not loaded (not in ${settings.procDevices}, no ${path.join(settings.devRoot, 'nvidia-uvm')}): containers get nvidiactl only; CUDA loads it on first use (nvidia-modprobe -u -c=0 loads it ahead)`);
      }

      let volume: DriverVolume | undefined;
      if (settings.driverVolume !== 'off' && inventory.gpus.length > 0) {
        const dir = settings.stateDir ? path.join(settings.stateDir, 'nvidia-volume') : fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-nvidia-volume-'));
        const built = buildDriverVolume({ dir, nvidiaSmi: settings.nvidiaSmi, ldconfig: settings.ldconfig, ...(settings.libraryDirs && { libraryDirs: settings.libraryDirs }) });
        volume = built.volume;
        if (volume && settings.driverVolume !== 'env' && livesUnder(volume, settings.driverVolumePath)) {
          ctx.log.info(`driver volume: the driver is installed at ${settings.driverVolumePath} itself, where containers see it (they share this host's root filesystem): PATH and LD_LIBRARY_PATH point there, nothing is mounted`, { binaries: volume.binaries, libraries: volume.libraries });
        } else if (volume) ctx.log.info(`driver volume at ${volume.dir} (${settings.driverVolume === 'env' ? 'PATH and LD_LIBRARY_PATH' : `mounted read-only at ${settings.driverVolumePath}`}${settings.driverVolume === 'auto' ? ' where it can be, else PATH and LD_LIBRARY_PATH' : ''})`, { binaries: volume.binaries, libraries: volume.libraries });
        else ctx.log.info(`no driver volume: ${built.reason}`);
      }

      let store: CheckpointStore | undefined;
      if (settings.stateDir) store = new CheckpointStore(settings.stateDir);
      else warnings.push('isolator-gpu has no state directory (no agent --work_dir, no state_dir parameter): GPU assignments are not kept across restarts');

      isolator?.close();
      isolator = new GpuIsolator({ settings, inventory, cgroup, controls, volume, store, log: ctx.log });
      isolator.load();
      isolator.startHealthPolls();
      const gpus = inventory.gpus;
      ctx.log.info(gpus.length ? `managing ${gpus.length} GPU(s) (${inventory.source}): ${gpus.map((g) => `${gpuLabel(g)}${g.name ? ` ${g.name}` : ''} ${g.health}`).join(', ')}` : 'managing no GPUs: advertising none', {
        devices_cgroups: cgroup?.describe() ?? null,
        control_devices: controls.map((c) => `${c.path} ${c.major}:${c.minor}`),
        health_poll_interval_ms: settings.healthPollIntervalMs,
        state_dir: settings.stateDir ?? null,
        checkpointed_containers: isolator.table.containers.length,
      });
      for (const w of warnings) ctx.log.warn(w);
      options.onConfigured?.(isolator);
      return warnings;
    },
    shutdown() {
      isolator?.close();
    },
    isolator: {
      prepare: (req, ctx) => get(ctx).prepare(req),
      isolate: (req, ctx) => get(ctx).isolate(req),
      update: (req, ctx) => get(ctx).update(req),
      usage: (req, ctx) => get(ctx).usage(req),
      status: (req, ctx) => get(ctx).status(req),
      cleanup: (req, ctx) => get(ctx).cleanup(req),
      recover: (req, ctx) => get(ctx).recover(req),
      watchResources: (_req, ctx) => get(ctx).feed.stream(ctx.signal),
    },
  };
}
