// The package's "types": declaration files a module author's own TypeScript settings can read. Before
// they existed, "types" named src/index.ts, and a plain strict tsconfig (no resolveJsonModule, no
// esModuleInterop) failed inside this package's sources.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const pkgDir = path.join(__dirname, '..');
let author: string;

beforeAll(() => {
  // What test/tools/bundle.mjs runs (incremental: quick when nothing changed).
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(pkgDir, 'tsconfig.build.json')], { stdio: 'pipe' });
  // A module package as an author has it: @tessera/modules-api in its node_modules (a link here), its own tsconfig.
  author = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-ts-author-'));
  fs.mkdirSync(path.join(author, 'node_modules', '@tessera'), { recursive: true });
  fs.mkdirSync(path.join(author, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(pkgDir, path.join(author, 'node_modules', '@tessera', 'modules-api'));
  fs.symlinkSync(path.dirname(require.resolve('@types/node/package.json')), path.join(author, 'node_modules', '@types', 'node'));
  fs.mkdirSync(path.join(author, 'src'));
  fs.writeFileSync(
    path.join(author, 'src', 'main.ts'),
    `import { serve, serveInProcess, IsolatorClient, TesseraError, runConformance, type ModuleDefinition } from '@tessera/modules-api';
export const definition: ModuleDefinition<{ greeting?: string }> = {
  name: 'isolator-hello',
  version: '1.0.0',
  isolator: {
    async prepare(req) {
      if (!req.containerId?.value) throw new TesseraError('TSR_INVALID_ARGUMENT', 'prepare: container_id is required');
      return undefined;
    },
    async cleanup() {},
  },
};
export const harness = [serveInProcess, IsolatorClient, runConformance];
void serve(definition);
`,
  );
});

afterAll(() => fs.rmSync(author, { recursive: true, force: true }));

describe('declarations', () => {
  it('package.json "types" names an emitted declaration file, not a source file', () => {
    const types = (JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { types: string }).types;
    expect(types).toMatch(/^dist\/.*\.d\.ts$/);
    expect(fs.existsSync(path.join(pkgDir, types))).toBe(true);
  });

  it("type-checks a module under a plain strict commonjs tsconfig without resolveJsonModule or esModuleInterop", () => {
    const program = ts.createProgram([path.join(author, 'src', 'main.ts')], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      strict: true,
      noEmit: true,
      types: ['node'],
      typeRoots: [path.join(author, 'node_modules', '@types')],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n') + (d.file ? ` (${d.file.fileName})` : ''));
    expect(problems).toEqual([]);
    expect(program.getSourceFiles().some((f) => f.fileName.endsWith('/modules-api/src/index.ts'))).toBe(false);
  });
});
