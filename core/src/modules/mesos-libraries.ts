/**
 * Translation of Mesos's modules format, `{"libraries":[{"file":"/path/libfoo.so","modules":[{"name":
 * "org_apache_mesos_Foo","parameters":[{"key":"k","value":"v"}]}]}]}`, into Tessera's. Mesos modules are
 * C++ shared libraries loaded in-process; Tessera runs modules as processes, so a `.so` maps to the
 * Tessera module package that replaces it, and anything else must be a runnable module.
 */
import { TesseraError } from '../errors';

/** Mesos module names whose Tessera replacements ship with Tessera. */
export const MESOS_REPLACEMENTS: Readonly<Record<string, { package: string; name: string }>> = {
  com_emccode_mesos_DockerVolumeDriverIsolator: { package: '@tessera/isolator-dvdi', name: 'dvdi' },
  org_apache_mesos_DockerVolumeIsolator: { package: '@tessera/isolator-dvdi', name: 'dvdi' },
  org_apache_mesos_CgroupsIsolator: { package: '@tessera/isolator-cgroups', name: 'cgroups' },
  org_apache_mesos_NvidiaGpuIsolator: { package: '@tessera/isolator-gpu', name: 'gpu' },
  org_apache_mesos_HierarchicalDRFAllocator: { package: '@tessera/allocator-drf', name: 'drf' },
};

interface MesosLibrary {
  file?: unknown;
  name?: unknown;
  modules?: unknown;
}

/** translateMesosLibraries turns Mesos's format into Tessera's, with notes on what changed. */
export function translateMesosLibraries(
  data: object,
  source: string,
  locate: (p: (string | number)[]) => string,
): { config: { modules: object[] }; notes: string[] } {
  const libraries = (data as { libraries: unknown }).libraries;
  const fail = (p: (string | number)[], msg: string): never => {
    throw new TesseraError('TSR_MODULES_JSON_INVALID', `${source}:${locate(p)} /${p.join('/')}: ${msg}`);
  };
  if (!Array.isArray(libraries)) fail(['libraries'], 'must be an array (Mesos format)');
  const modules: object[] = [];
  const notes = ['Translated from the Mesos {"libraries": [...]} format: Tessera runs each module as its own process.'];
  (libraries as MesosLibrary[]).forEach((lib, li) => {
    const file = typeof lib.file === 'string' ? lib.file : typeof lib.name === 'string' ? `lib${lib.name}.so` : undefined;
    if (!file) fail(['libraries', li], 'needs "file" or "name"');
    if (!Array.isArray(lib.modules)) fail(['libraries', li, 'modules'], 'must be an array');
    (lib.modules as { name?: unknown; parameters?: unknown }[]).forEach((mod, mi) => {
      const at = ['libraries', li, 'modules', mi];
      if (typeof mod.name !== 'string') fail([...at, 'name'], 'must be a string');
      const name = mod.name as string;
      const parameters: Record<string, string> = {};
      if (mod.parameters !== undefined) {
        if (!Array.isArray(mod.parameters)) fail([...at, 'parameters'], 'must be an array of {"key","value"} (Mesos format)');
        (mod.parameters as { key?: unknown; value?: unknown }[]).forEach((p, pi) => {
          if (typeof p.key !== 'string') fail([...at, 'parameters', pi, 'key'], 'must be a string');
          parameters[p.key as string] = p.value === undefined ? '' : String(p.value);
        });
      }
      const entry: Record<string, unknown> = { name, parameters };
      if (file!.endsWith('.so')) {
        const replacement = MESOS_REPLACEMENTS[name];
        if (!replacement) {
          fail(
            [...at, 'name'],
            `${name} in ${file} is a Mesos C++ module (a shared library); Tessera cannot load shared libraries. ` +
              `Use a Tessera module instead: known replacements are ${Object.keys(MESOS_REPLACEMENTS).join(', ')}; ` +
              'or write a Tessera module entry with "package", "file" or "command" (docs/modules-json.md)',
          );
        }
        entry.package = replacement!.package;
        notes.push(`${name} (${file}) is served by ${replacement!.package}; flags still select it as "${name}".`);
      } else if (file!.endsWith('.js')) {
        entry.file = file;
      } else {
        entry.command = [file];
      }
      modules.push(entry);
    });
  });
  notes.push('Mesos parameters are strings: they are converted to the types the module\'s schema asks for.');
  return { config: { modules }, notes };
}
