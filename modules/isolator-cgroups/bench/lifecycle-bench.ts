/**
 * Benchmark of the cgroups isolator module alone, through its real process and gRPC, on this host's
 * cgroups: N containers (default 1000) with every subsystem, each holding one real process.
 *
 *   BENCH cgroups-module-launch-<N> <s> s     prepare + isolate of every container (32 in flight)
 *   BENCH cgroups-module-usage-<N> <s> s      one usage of every container (a /monitor/statistics)
 *   BENCH cgroups-module-destroy-<N> <s> s    cleanup of every container (kill + rmdir; 32 in flight)
 *
 * The agent's own figures (`npm run bench -- agent`, agent-launch-1000-cgroups) add process start,
 * sandbox and status updates on top. Needs root and the bundled module (npm run bundle).
 * Run: npx esbuild modules/isolator-cgroups/bench/lifecycle-bench.ts --bundle --platform=node \
 *        --outfile=/tmp/cgroups-bench.js && node /tmp/cgroups-bench.js [N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { IsolatorClient, startModule, SUPPORTED_ABI } from '@tessera/modules-api';

const N = Number(process.argv[2] ?? 1000);
const IN_FLIGHT = 32;
// Run from the repository root, or point CGROUPS_MODULE at the built module.
const MODULE = path.resolve(process.env.CGROUPS_MODULE ?? 'modules/isolator-cgroups/dist/module.js');
const root = `tessera-bench-${process.pid}`;
const mb = (v: number) => ({ name: 'mem', type: 'SCALAR' as const, scalar: { value: v } });
const cpus = (v: number) => ({ name: 'cpus', type: 'SCALAR' as const, scalar: { value: v } });

async function pool<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function main(): Promise<void> {
  if (!fs.existsSync(MODULE)) throw new Error(`${MODULE} does not exist: run npm run bundle in the repository root, or set CGROUPS_MODULE`);
  const module = await startModule({
    name: 'cgroups',
    command: process.execPath,
    args: [MODULE],
    core: { version: '0.1.0', abi: SUPPORTED_ABI },
    parameters: { root, subsystems: 'all', cpu_quota: true },
    callTimeoutMs: 30_000,
  });
  const client = new IsolatorClient(module);
  const sleepers: ChildProcess[] = [];
  try {
    for (let i = 0; i < N; i += 1) sleepers.push(spawn('sleep', ['1000'], { stdio: 'ignore' }));
    await Promise.all(sleepers.map((s) => new Promise((r) => s.once('spawn', r))));
    const ids = sleepers.map((_, i) => i);
    const launch = await pool(ids, async (i) => {
      await client.prepare({ value: `c${i}` }, { resources: [cpus(0.1), mb(32)] });
      await client.isolate({ value: `c${i}` }, sleepers[i].pid!);
    });
    console.log(`BENCH cgroups-module-launch-${N} ${launch.toFixed(3)} s`);
    const usage = await pool(ids, (i) => client.usage({ value: `c${i}` }));
    console.log(`BENCH cgroups-module-usage-${N} ${usage.toFixed(3)} s`);
    const destroy = await pool(ids, (i) => client.cleanup({ value: `c${i}` }));
    console.log(`BENCH cgroups-module-destroy-${N} ${destroy.toFixed(3)} s`);
  } finally {
    for (const s of sleepers) s.kill('SIGKILL');
    await module.stop();
    for (const h of fs.readdirSync('/sys/fs/cgroup')) {
      const dir = path.join('/sys/fs/cgroup', h, root);
      if (fs.existsSync(dir)) fs.rmdirSync(dir);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
