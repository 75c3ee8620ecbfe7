// What the isolator checks call the module through: raw Isolator RPCs (not IsolatorClient, whose
// Mesos defaults would hide a missing call), realistic ContainerConfigs with real sandbox directories,
// and bookkeeping so every container a check prepared is cleaned up even when the check fails.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TesseraError } from '../errors';
import type * as T from '../generated/types';
import { describeError, type Outcome } from './common-checks';
import { CommonProbe } from './common-suite';
import { CheckFailed } from './runner';

/** RESOURCES are the resources of every container the kit prepares: cpus 0.1, mem 32 (MB). */
export const RESOURCES: T.Resource[] = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
];

/** IsolatorProbe is the context every isolator check runs with. */
export class IsolatorProbe extends CommonProbe {
  private readonly runId = randomBytes(3).toString('hex');
  private readonly prepared = new Map<string, T.ContainerID>();
  private readonly sandboxRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-conformance-sandboxes-'));

  /** has tells whether the module advertised an isolator capability. */
  has(capability: string): boolean {
    return this.module.capabilities('isolator').includes(capability);
  }

  /** containerId makes an id unique to this run, readable in the module's logs. */
  containerId(label: string): T.ContainerID {
    return { value: `conformance-${label}-${this.runId}` };
  }

  /** config is a realistic ContainerConfig: a command task with cpus 0.1, mem 32 and its own sandbox. */
  config(id: T.ContainerID): T.ContainerConfig {
    const directory = path.join(this.sandboxRoot, id.value!);
    fs.mkdirSync(directory, { recursive: true });
    const command: T.CommandInfo = { value: 'true', shell: true };
    return {
      executorInfo: { executorId: id.value, frameworkId: 'tessera-conformance', name: 'conformance', command, resources: RESOURCES },
      commandInfo: command,
      resources: RESOURCES,
      containerClass: 'DEFAULT',
      directory,
      user: 'root',
    };
  }

  /** attempt makes one Isolator call and returns its outcome; it never throws for a module's error. */
  async attempt<R>(rpc: string, req: object): Promise<Outcome<R>> {
    try {
      return { ok: true, value: await this.module.unary<R>('isolator', rpc, req, { deadlineMs: this.timeoutMs }) };
    } catch (err) {
      return { ok: false, error: TesseraError.wrap(err) };
    }
  }

  /** call makes one Isolator call that must succeed; `step` names it in the failure message. */
  async call<R>(rpc: string, req: object, step: string): Promise<R> {
    const out = await this.attempt<R>(rpc, req);
    if (!out.ok) throw new CheckFailed(`${step} failed with ${describeError(out.error, this.timeoutMs)}`);
    return out.value;
  }

  /** prepare prepares a container that must be prepared, and remembers it for cleanup. */
  async prepare(id: T.ContainerID, step = `prepare of container ${id.value}`): Promise<T.PrepareResponse> {
    const res = await this.call<T.PrepareResponse>('Prepare', { containerId: id, containerConfig: this.config(id) }, step);
    this.prepared.set(id.value!, id);
    return res;
  }

  /** cleanup cleans up a container; the cleanup must succeed. */
  async cleanup(id: T.ContainerID, step = `cleanup of container ${id.value}`): Promise<void> {
    await this.call('Cleanup', { containerId: id }, step);
    this.prepared.delete(id.value!);
  }

  /**
   * launch does what the agent does up to a running container: prepare, then (capability "isolate")
   * isolate with the pid of a real process. It resolves with that pid, or undefined without isolate.
   */
  async launch(id: T.ContainerID): Promise<number | undefined> {
    await this.prepare(id);
    if (!this.has('isolate')) return undefined;
    const pid = await this.session.spawnHelper();
    await this.call('Isolate', { containerId: id, pid }, `isolate of container ${id.value} with pid ${pid}`);
    return pid;
  }

  /** forget stops tracking a container a check released by other means. */
  forget(id: T.ContainerID): void {
    this.prepared.delete(id.value!);
  }

  /** releaseLeftovers cleans up what a check left prepared (errors ignored: checks report them) and kills helpers. */
  async releaseLeftovers(): Promise<void> {
    for (const id of [...this.prepared.values()]) {
      this.prepared.delete(id.value!);
      if (this.session.exitedDuring() !== undefined) break;
      await this.attempt('Cleanup', { containerId: id });
    }
    await this.session.killHelpers();
  }

  /** close removes the sandboxes. */
  close(): void {
    fs.rmSync(this.sandboxRoot, { recursive: true, force: true });
  }
}
