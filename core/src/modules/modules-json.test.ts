import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModulesJson, parseModulesJson } from './modules-json';
import { TesseraError } from '../errors';

const parse = (text: string): ReturnType<typeof parseModulesJson> => parseModulesJson(text, 'modules.json', '/etc/tessera');
const failure = (text: string): TesseraError => {
  try {
    parse(text);
  } catch (err) {
    return err as TesseraError;
  }
  throw new Error('expected a failure');
};

describe('modules.json', () => {
  it('accepts the three kinds of entries', () => {
    const config = parse(
      JSON.stringify({
        modules: [
          { name: 'cgroups', package: '@tessera/isolator-cgroups', parameters: { subsystems: ['cpu'] } },
          { name: 'drf', file: 'drf.js', timeouts: { call: '2s' } },
          { name: 'hook', command: ['python3', 'hook.py'], onError: 'ignore' },
        ],
      }),
    );
    expect(config.modules.map((m) => m.name)).toEqual(['cgroups', 'drf', 'hook']);
    expect(config.dir).toBe('/etc/tessera');
  });

  it('takes --modules as Mesos does: a path, a file:// URL, or inline JSON; other URLs are refused by name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modules-json-'));
    const file = path.join(dir, 'modules.json');
    const text = JSON.stringify({ modules: [{ name: 'drf', file: 'drf.js' }] });
    fs.writeFileSync(file, text);
    try {
      expect(loadModulesJson(file).modules[0].name).toBe('drf');
      expect(loadModulesJson(`file://${file}`)).toMatchObject({ source: file, dir });
      expect(loadModulesJson(text)).toMatchObject({ source: '--modules', dir: process.cwd() });
      expect(() => loadModulesJson('https://example.com/modules.json')).toThrow(/only local files \(a path or file:\/\/\/path\) and inline JSON are taken, not https:\/\/ URLs/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports malformed JSON with line and column', () => {
    const e = failure('{\n  "modules": [\n    {"name": "a" "file": "x.js"}\n  ]\n}');
    expect(e.code).toBe('TSR_MODULES_JSON_SYNTAX');
    expect(e.message).toBe(`modules.json:3:18: invalid JSON: expected ',' or a closing bracket near "\\"file\\": \\"x.js\\"}"`);
  });

  it('refuses comments and trailing commas, which are not JSON', () => {
    expect(failure('{"modules": [],}').code).toBe('TSR_MODULES_JSON_SYNTAX');
    expect(failure('// hi\n{"modules": []}').message).toContain('modules.json:1:1');
  });

  it('names an unknown field by JSON path and line, with a suggestion', () => {
    const e = failure('{\n  "modules": [\n    {"name": "a", "file": "x.js",\n     "paramters": {}}\n  ]\n}');
    expect(e.code).toBe('TSR_MODULES_JSON_INVALID');
    expect(e.message).toContain('modules.json:4:6 /modules/0/paramters: unknown field "paramters" (did you mean "parameters"?)');
  });

  it('names a wrong type by JSON path', () => {
    const e = failure('{"modules": [{"name": "a", "command": "python3 hook.py"}]}');
    expect(e.message).toContain('/modules/0/command: must be array');
    const t = failure('{"modules": [{"name": "a", "file": "a.js", "timeouts": {"call": "soon"}}]}');
    expect(t.message).toContain('/modules/0/timeouts/call: must be a duration such as 500ms, 2s or 1m');
  });

  it('needs exactly one of package, file, command', () => {
    expect(failure('{"modules": [{"name": "a"}]}').message).toContain('/modules/0 (a): give exactly one of "package", "file" or "command"');
    expect(failure('{"modules": [{"name": "a", "file": "a.js", "package": "p"}]}').message).toContain('(found package and file)');
  });

  it('refuses two modules with one name, pointing at the second', () => {
    const e = failure('{"modules": [\n {"name": "a", "file": "a.js"},\n {"name": "a", "file": "b.js"}\n]}');
    expect(e.code).toBe('TSR_MODULES_JSON_DUPLICATE_NAME');
    expect(e.message).toContain('modules.json:3:3 /modules/1/name: module name "a" is already used by /modules/0');
  });

  it('translates the Mesos libraries format', () => {
    const config = parse(
      JSON.stringify({
        libraries: [
          {
            file: '/usr/lib/libmesos_dvdi_isolator-1.2.1.so',
            modules: [{ name: 'com_emccode_mesos_DockerVolumeDriverIsolator', parameters: [{ key: 'timeout', value: '30' }] }],
          },
          { file: '/opt/hooks/label.js', modules: [{ name: 'org_example_LabelHook' }] },
        ],
      }),
    );
    expect(config.mesosFormat).toBe(true);
    expect(config.modules).toEqual([
      { name: 'com_emccode_mesos_DockerVolumeDriverIsolator', package: '@tessera/isolator-dvdi', parameters: { timeout: '30' } },
      { name: 'org_example_LabelHook', file: '/opt/hooks/label.js', parameters: {} },
    ]);
    expect(config.notes.join('\n')).toContain('is served by @tessera/isolator-dvdi');
  });

  it('explains that an unknown Mesos C++ module cannot be loaded', () => {
    const e = failure(JSON.stringify({ libraries: [{ file: '/usr/lib/libfoo.so', modules: [{ name: 'org_example_Foo' }] }] }));
    expect(e.code).toBe('TSR_MODULES_JSON_INVALID');
    expect(e.message).toContain('org_example_Foo in /usr/lib/libfoo.so is a Mesos C++ module (a shared library); Tessera cannot load shared libraries');
  });
});
