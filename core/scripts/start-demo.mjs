#!/usr/bin/env node
// `npm start`: a local cluster and a first task, the way a new user would do it by hand.
// 1. starts `tessera local` (master on 127.0.0.1:5050, agent on 127.0.0.1:5051; flags after `--` go to it);
// 2. once the agent registered, runs `tessera run --master=127.0.0.1:5050 -- sh -c 'echo hello from tessera'`,
//    printing the task's states;
// 3. reads the task's stdout back through the agent's /files/read and prints it;
// 4. keeps the cluster running until Ctrl-C.
// A script rather than a `tessera local --demo` flag: the demo then exercises the real CLI exactly as a
// user would (two commands, two processes, the HTTP endpoints), and `tessera local` stays free of demo code.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'core/bin/tessera.js');
const extra = process.argv.slice(2).filter((a) => a !== '--');
const say = (line) => process.stdout.write(`[npm start] ${line}\n`);

// Quiet by default; `npm start -- --log_level=debug` (or TESSERA_LOG_LEVEL) says more.
const level = extra.some((a) => a.startsWith('--log_level')) || process.env.TESSERA_LOG_LEVEL ? [] : ['--log_level=warn'];
const local = spawn(process.execPath, [cli, 'local', ...level, ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
let banner = '';
let stopping = false;
const up = new Promise((resolve) => {
  local.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    if (banner.includes('Ctrl-C stops the cluster.')) return;
    banner += chunk.toString();
    if (banner.includes('Ctrl-C stops the cluster.')) resolve();
  });
});
local.once('exit', (code, signal) => {
  if (!stopping) say(`tessera local ended (${signal ?? `exit ${code}`}) before the demo finished`);
  process.exit(code ?? 1);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopping = true;
    local.kill('SIGTERM');
  });
}

await up;
const master = /master: +http:\/\/(\S+)/.exec(banner)[1];
const agent = /agent: +http:\/\/(\S+)/.exec(banner)[1];

say(`launching a demo task: tessera run --master=${master} -- sh -c 'echo hello from tessera'`);
const run = spawn(process.execPath, [cli, 'run', `--master=${master}`, '--name=demo', '--', 'echo hello from tessera'], { stdio: ['ignore', 'pipe', 'inherit'] });
let runOut = '';
run.stdout.on('data', (chunk) => {
  runOut += chunk.toString();
  process.stdout.write(chunk.toString().replace(/^(?=.)/gm, '  '));
});
const code = await new Promise((resolve) => run.once('exit', resolve));
const taskId = /launching task (\S+)/.exec(runOut)?.[1];

if (taskId) {
  try {
    const state = await (await fetch(`http://${agent}/state`)).json();
    const executor = [...state.frameworks, ...state.completed_frameworks]
      .flatMap((f) => [...f.executors, ...f.completed_executors])
      .find((e) => e.id === taskId);
    const stdout = `${executor.directory}/stdout`;
    const read = await (await fetch(`http://${agent}/files/read?path=${encodeURIComponent(stdout)}&offset=0`)).json();
    say(`the task's stdout, read through http://${agent}/files/read?path=${stdout}:`);
    process.stdout.write(read.data.replace(/^/gm, '  | ').replace(/ {2}\| $/, ''));
  } catch (err) {
    say(`could not read the task's stdout through the agent: ${err.message}`);
  }
}
say(code === 0 ? 'the demo task finished.' : `the demo task did not finish (tessera run exited ${code}).`);
say(`the cluster keeps running: web UI http://${master}/ — try: node core/bin/tessera.js run --master=${master} -- uname -a`);
say('Ctrl-C stops it.');
