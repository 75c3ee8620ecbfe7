#!/usr/bin/env node
// Generates, from Tessera's Mesos v1 protos (core/proto/mesos/v1) and the master↔agent protocol
// (core/proto/tessera/agent/v1), the descriptor the master's wire layer loads at run time:
// src/master/wire/generated/mesos-v1.json, a protobufjs JSON descriptor (no comments) that keeps the
// protos' snake_case field names. One Root holds both, so agent messages embed the very Mesos types the
// scheduler API uses. Every message, enum and field must have a comment.
// `--check` fails when the committed descriptor differs from what the protos give.
import protobuf from 'protobufjs';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const coreDir = path.resolve(here, '..');
const protoDir = path.join(coreDir, 'proto');
const outRel = 'src/master/wire/generated/mesos-v1.json';
const outFile = path.join(coreDir, outRel);
const check = process.argv.includes('--check');

const files = [
  'mesos/v1/mesos.proto',
  'mesos/v1/scheduler.proto',
  'mesos/v1/master.proto',
  'mesos/v1/resource-statistics.proto',
  'mesos/v1/agent.proto',
  'tessera/agent/v1/agent.proto',
];

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(protoDir, target);
root.loadSync(files, { keepCase: true, alternateCommentMode: true });
root.resolveAll();

const problems = [];
function walk(ns) {
  for (const obj of ns.nestedArray) {
    const name = obj.fullName.slice(1);
    if ((obj instanceof protobuf.Type || obj instanceof protobuf.Enum) && !obj.comment) problems.push(name);
    if (obj instanceof protobuf.Type) {
      for (const f of obj.fieldsArray) if (!f.comment) problems.push(`${name}.${f.name}`);
    }
    if (obj instanceof protobuf.Namespace) walk(obj);
  }
}
walk(root);

if (problems.length) {
  console.error(`gen-mesos: ${problems.length} proto element(s) lack a comment:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}

const descriptor = JSON.stringify(root.toJSON({ keepComments: false })) + '\n';

if (check) {
  if (!fs.existsSync(outFile) || fs.readFileSync(outFile, 'utf8') !== descriptor) {
    console.error(
      `gen-mesos --check: core/${outRel} is out of date with core/proto (mesos/v1, tessera/agent/v1): run \`node core/scripts/gen-mesos.mjs\` and commit the result.`,
    );
    process.exit(1);
  }
} else {
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, descriptor);
  console.log(`gen-mesos: wrote core/${outRel}`);
}
