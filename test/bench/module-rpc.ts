// Unary isolator call latency over the real unix socket (module in its own process, gRPC + protobuf
// both ways), against the same handler called in-process. Target on 2-core machines: p50 <= 500 us,
// p99 <= 2 ms (issue "foundation").
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
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

// The transport's own floor: a bare grpc-js unary echo of a few bytes over a unix socket, no SDK, no
// protobuf, no token. Our figures are read against it.
const RAW_SOCKET = path.join(os.tmpdir(), `tessera-bench-raw-${process.pid}.sock`);
const rawDef = {
  Echo: {
    path: '/bench.Raw/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

async function rawFloor(): Promise<number[]> {
  const child = spawn(process.execPath, ['--max-semi-space-size=32', __filename, '--raw-serve', RAW_SOCKET], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  const client = new grpc.Client(`unix:${RAW_SOCKET}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  const payload = Buffer.from('hello');
  const times: number[] = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const t = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest('/bench.Raw/Echo', (b: Buffer) => b, (b: Buffer) => b, payload, md, { deadline: Date.now() + 5000 }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    if (i >= WARMUP) times.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  client.close();
  child.kill();
  return times.sort((a, b) => a - b);
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
  const raw = await rawFloor();
  console.log(
    `       transport floor (bare grpc-js echo, same socket kind): p50 ${percentile(raw, 0.5).toFixed(1)} us, p99 ${percentile(raw, 0.99).toFixed(1)} us` +
      ` -> the SDK and codec add ${(p50 - percentile(raw, 0.5)).toFixed(1)} us at p50`,
  );
  console.log(`BENCH module-rpc-inproc-p50 ${in50.toFixed(2)} us   (out-of-process p50 is ${(p50 / Math.max(in50, 0.01)).toFixed(0)}x the in-process call)`);
}

if (process.argv.includes('--raw-serve')) {
  const server = new grpc.Server();
  server.addService(rawDef, { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
  server.bindAsync(`unix:${process.argv[process.argv.indexOf('--raw-serve') + 1]}`, grpc.ServerCredentials.createInsecure(), () => process.stdout.write('ready\n'));
  process.stdin.on('end', () => process.exit(0));
} else if (process.argv.includes('--serve')) {
  void serve({ name: 'bench-isolator', version: '1.0.0', isolator: handlers });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
