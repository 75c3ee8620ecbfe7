// Unary isolator call latency over the real unix socket (module in its own process, gRPC + protobuf
// both ways), against the same handler called in-process. Target on 2-core machines: p50 <= 500 us,
// p99 <= 2 ms (issue "foundation").
import { IsolatorClient, serve, startModule, SUPPORTED_ABI, jsonLineLogger, type CallContext, type IsolatorHandlers } from '@tessera/modules-api';

const handlers: IsolatorHandlers = {
  async prepare(req) {
    return { environment: { variables: [{ name: 'CONTAINER', value: req.containerId?.value ?? '' }] } };
  },
  async cleanup() {},
};

const WARMUP = 1000;
const N = Number(process.env.BENCH_N ?? 10_000);

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

async function main(): Promise<void> {
  const started = await startModule({
    name: 'bench',
    command: process.execPath,
    args: ['--max-semi-space-size=32', __filename, '--serve'],
    core: { version: 'bench', abi: SUPPORTED_ABI },
  });
  const isolator = new IsolatorClient(started);
  const req = { value: 'bench-container' };
  const config = { directory: '/tmp/sandbox', resources: [{ name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.5 } }] };
  const rpc: number[] = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const t = process.hrtime.bigint();
    await isolator.prepare(req, config);
    if (i >= WARMUP) rpc.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  await started.stop();

  const ctx: CallContext = { signal: new AbortController().signal, log: jsonLineLogger(() => undefined), negotiated: '1.0.0' };
  const inproc: number[] = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const t = process.hrtime.bigint();
    await handlers.prepare({ containerId: req, containerConfig: config }, ctx);
    if (i >= WARMUP) inproc.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  rpc.sort((a, b) => a - b);
  inproc.sort((a, b) => a - b);
  const p50 = percentile(rpc, 0.5);
  const p99 = percentile(rpc, 0.99);
  const in50 = percentile(inproc, 0.5);
  console.log(`calls: ${N} sequential isolator.Prepare over a unix socket (after ${WARMUP} warm-up calls)`);
  console.log(`BENCH module-rpc-p50 ${p50.toFixed(1)} us   (target <= 500 us: ${(p50 / 500).toFixed(2)}x of target)`);
  console.log(`BENCH module-rpc-p99 ${p99.toFixed(1)} us   (target <= 2000 us: ${(p99 / 2000).toFixed(2)}x of target)`);
  console.log(`BENCH module-rpc-inproc-p50 ${in50.toFixed(2)} us   (out-of-process p50 is ${(p50 / Math.max(in50, 0.01)).toFixed(0)}x the in-process call)`);
}

if (process.argv.includes('--serve')) {
  void serve({ name: 'bench-isolator', version: '1.0.0', isolator: handlers });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
