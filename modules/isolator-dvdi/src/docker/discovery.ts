/**
 * Finding a volume driver by name, as Docker does (pkg/plugins/discovery.go): a unix socket
 * `<name>.sock` (or `<name>/<name>.sock`) in the socket directories, else a `<name>.spec` file holding
 * a URL (`unix:///path` or `tcp://host:port`) or a `<name>.json` file (`{"Name", "Addr", "TLSConfig"}`)
 * in the spec directories. An explicit `drivers` map (module parameter) is consulted first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dvdiError } from '../errors';

/** PluginAddress is how to reach a plugin: a unix socket, or HTTP(S) over TCP. */
export type PluginAddress =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; protocol: 'http:' | 'https:'; host: string; port: number; tls?: TlsFiles };

/** TlsFiles are the TLS settings of a `.json` spec (Docker's TLSConfig). */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify?: boolean;
}

/** PluginEndpoint is a discovered plugin: its name, its address, and where the address came from. */
export interface PluginEndpoint {
  name: string;
  address: PluginAddress;
  /** url is the address as text, for messages: unix:///run/docker/plugins/x.sock, tcp://h:1234. */
  url: string;
  /** source is the file or parameter the address came from. */
  source: string;
}

/** DiscoveryOptions say where to look. */
export interface DiscoveryOptions {
  /** socketDirs hold `<name>.sock` files (Docker: /run/docker/plugins). */
  socketDirs: readonly string[];
  /** specDirs hold `<name>.spec` and `<name>.json` files (Docker: /etc/docker/plugins, /usr/lib/docker/plugins). */
  specDirs: readonly string[];
  /** drivers maps a driver name to an address URL, before any discovery. */
  drivers?: Readonly<Record<string, string>>;
}

/** DEFAULT_SOCKET_DIRS and DEFAULT_SPEC_DIRS are Docker's own places (plus .spec files next to sockets). */
export const DEFAULT_SOCKET_DIRS: readonly string[] = ['/run/docker/plugins'];
export const DEFAULT_SPEC_DIRS: readonly string[] = ['/run/docker/plugins', '/etc/docker/plugins', '/usr/lib/docker/plugins'];

/** discover finds a driver's endpoint or throws DVDI_PLUGIN_NOT_FOUND listing where it looked. */
export function discover(name: string, opts: DiscoveryOptions): PluginEndpoint {
  const explicit = opts.drivers?.[name];
  if (explicit !== undefined) return { name, ...parseUrl(name, explicit.trim(), 'the drivers parameter'), source: 'the drivers parameter' };
  const looked: string[] = [];
  for (const dir of opts.socketDirs) {
    for (const p of [path.join(dir, `${name}.sock`), path.join(dir, name, `${name}.sock`)]) {
      looked.push(p);
      if (isSocket(p)) return { name, address: { kind: 'unix', socketPath: p }, url: `unix://${p}`, source: p };
    }
  }
  for (const dir of opts.specDirs) {
    for (const base of [path.join(dir, name), path.join(dir, name, name)]) {
      for (const ext of ['.spec', '.json']) {
        const p = base + ext;
        looked.push(p);
        if (!fs.existsSync(p)) continue;
        return { name, ...(ext === '.spec' ? readSpec(name, p) : readJsonSpec(name, p)), source: p };
      }
    }
  }
  throw dvdiError(
    'DVDI_PLUGIN_NOT_FOUND',
    `volume driver "${name}" is not installed on this agent: no socket or spec file found (looked at ${looked.join(', ')}). ` +
      `The operator must start the plugin (e.g. tessera-volume-local --socket=${path.join(opts.socketDirs[0] ?? '/run/docker/plugins', `${name}.sock`)}) ` +
      'or name its address in the module\'s drivers parameter; or the framework asked for the wrong driver',
  );
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}

function readSpec(name: string, file: string): Omit<PluginEndpoint, 'name' | 'source'> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw dvdiError('DVDI_PLUGIN_SPEC_INVALID', `volume driver "${name}": cannot read spec file ${file}: ${(err as Error).message}`);
  }
  return parseUrl(name, text, `spec file ${file}`);
}

function readJsonSpec(name: string, file: string): Omit<PluginEndpoint, 'name' | 'source'> {
  let spec: { Addr?: unknown; TLSConfig?: { InsecureSkipVerify?: boolean; CAFile?: string; CertFile?: string; KeyFile?: string } | null };
  try {
    spec = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw dvdiError('DVDI_PLUGIN_SPEC_INVALID', `volume driver "${name}": spec file ${file} is not readable JSON: ${(err as Error).message}`);
  }
  if (typeof spec?.Addr !== 'string' || !spec.Addr) {
    throw dvdiError('DVDI_PLUGIN_SPEC_INVALID', `volume driver "${name}": spec file ${file} has no "Addr" string (e.g. "Addr": "https://host:port")`);
  }
  const endpoint = parseUrl(name, spec.Addr, `spec file ${file}`);
  const t = spec.TLSConfig;
  if (t && endpoint.address.kind === 'tcp') {
    endpoint.address.protocol = 'https:';
    endpoint.address.tls = { ca: t.CAFile || undefined, cert: t.CertFile || undefined, key: t.KeyFile || undefined, insecureSkipVerify: !!t.InsecureSkipVerify };
    endpoint.url = endpoint.url.replace(/^[a-z]+:/, 'https:');
  }
  return endpoint;
}

/** parseUrl reads a plugin address: unix:///path, tcp://host:port, http://host:port or https://host:port. */
export function parseUrl(name: string, text: string, where: string): Omit<PluginEndpoint, 'name' | 'source'> {
  const bad = (why: string) =>
    dvdiError('DVDI_PLUGIN_SPEC_INVALID', `volume driver "${name}": ${where} holds "${text.slice(0, 200)}", ${why}; it must be unix:///path/to.sock or tcp://host:port`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('which is not a URL');
  }
  if (url.protocol === 'unix:') {
    const socketPath = decodeURIComponent(url.pathname);
    if (url.host || !path.isAbsolute(socketPath)) throw bad('whose socket path is not absolute');
    return { address: { kind: 'unix', socketPath }, url: `unix://${socketPath}` };
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (!url.hostname) throw bad('without a host');
    const protocol = url.protocol === 'https:' ? 'https:' : 'http:';
    return { address: { kind: 'tcp', protocol, host: url.hostname.replace(/^\[|\]$/g, ''), port }, url: `${url.protocol}//${url.host}` };
  }
  throw bad(`whose scheme "${url.protocol.replace(/:$/, '')}" is not unix, tcp, http or https`);
}
