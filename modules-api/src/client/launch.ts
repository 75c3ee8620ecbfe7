// Starting a module process and reading its handshake line (docs/abi.md, "Handshake"). Used by the core's
// module host and by the conformance kit, so both start modules exactly the same way.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ENV, HANDSHAKE_VERSION } from '../version';
import { TesseraError } from '../errors';

/** LaunchSpec says how to start one module process. */
export interface LaunchSpec {
  /** name is the module's name in modules.json; it prefixes every message. */
  name: string;
  /** command is the program; args its arguments. */
  command: string;
  args: string[];
  /** cwd is the working directory (default: the core's). */
  cwd?: string;
  /** env is added to the core's environment. */
  env?: Record<string, string>;
  /** startTimeoutMs bounds the wait for the handshake line (default 10 s). */
  startTimeoutMs?: number;
  /** coreVersion goes to TESSERA_CORE_VERSION. */
  coreVersion: string;
  /** runtimeDir is a private (0700) directory for the socket; one is made when absent. */
  runtimeDir?: string;
  /** onLine receives every stdout/stderr line after the handshake (and stderr lines before it). */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
}

/** Launched is a running module process that completed the handshake. */
export interface Launched {
  /** child is the module's process; signal it with {@link Launched.kill}, which reaches its whole process group. */
  child: ChildProcess;
  pid: number;
  /**
   * kill sends `signal` to the module's process group: the module and every process it started (a
   * shell wrapper's children too), so none is left holding the module's stdout or running on.
   */
  kill(signal: NodeJS.Signals): void;
  socketPath: string;
  token: string;
  runtimeDir: string;
  /** exited resolves when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** stderrTail returns the last stderr lines, for error messages. */
  stderrTail(): string;
}

const MAX_TAIL = 20;

/** makeRuntimeDir creates a private directory for module sockets. */
export function makeRuntimeDir(prefix = 'tessera-modules-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o700);
  return dir;
}

/**
 * launchModule starts a module and waits for its handshake line. It fails with a coded TesseraError
 * when the process cannot start, prints anything else first, exits, or stays silent too long.
 */
export function launchModule(spec: LaunchSpec): Promise<Launched> {
  const runtimeDir = spec.runtimeDir ?? makeRuntimeDir();
  // Unix socket paths are limited to ~107 bytes: keep the name short and unique per start.
  const socketPath = path.join(runtimeDir, `${spec.name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 24)}-${randomBytes(4).toString('hex')}.sock`);
  const token = randomBytes(24).toString('base64url');
  const timeoutMs = spec.startTimeoutMs ?? 10_000;
  const where = `module ${spec.name} (${[spec.command, ...spec.args].join(' ')})`;

  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, {
      // Its own process group, led by the module, so stop and kill reach the processes it starts too
      // (a wrapper script's child that would keep our stdout pipe open, hanging `tessera modules check`).
      // Leaving the core's group does not let it outlive the core: that rests on the stdin pipe below.
      detached: true,
      cwd: spec.cwd,
      env: {
        ...process.env,
        ...spec.env,
        [ENV.MODULE]: '1',
        [ENV.NAME]: spec.name,
        [ENV.SOCKET]: socketPath,
        [ENV.TOKEN]: token,
        [ENV.CORE_VERSION]: spec.coreVersion,
      },
      // stdin stays a pipe the module never reads from: when the core dies, the module sees it close.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    return Promise.reject(new TesseraError('TSR_MODULE_SPAWN_FAILED', `${where} could not be started: ${(err as Error).message}`));
  }

  const kill = groupKiller(child);

  const tail: string[] = [];
  const stderrTail = (): string => (tail.length ? tail.join('\n') : '(nothing on stderr)');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // Once the module is gone, so is what it left running in its group: nothing else may hold its pipes.
  void exited.then(() => kill('SIGKILL'));
  if (!spec.runtimeDir) {
    // A directory made here is this process's alone: remove it with the process.
    void exited.then(() => fs.rmSync(runtimeDir, { recursive: true, force: true }));
  }
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > MAX_TAIL) tail.shift();
    spec.onLine?.('stderr', line);
  });
  child.stdin!.on('error', () => undefined); // EPIPE when the module exits first

  return new Promise<Launched>((resolve, reject) => {
    let done = false;
    let handshaken = false;
    const garbage: string[] = [];
    const finish = (err: TesseraError | undefined, value?: Launched): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        kill('SIGKILL'); // the group: a wrapper's children go too
        reject(err);
      } else resolve(value!);
    };
    const timer = setTimeout(() => {
      finish(
        new TesseraError(
          'TSR_HANDSHAKE_TIMEOUT',
          `${where} printed no handshake line within ${timeoutMs} ms. A module must print "tessera-module|1|unix|<socket>" ` +
            `on stdout once it listens on $${ENV.SOCKET}; is it a Tessera module? stderr: ${stderrTail()}`,
        ),
      );
    }, timeoutMs);
    child.once('error', (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'ENOENT' ? 'no such file: check the path' : err.code === 'EACCES' ? 'not executable: chmod +x it' : err.message;
      finish(new TesseraError('TSR_MODULE_SPAWN_FAILED', `${where} could not be started: ${hint}`));
    });
    void exited.then(({ code, signal }) => {
      // Give the last stderr lines a moment to arrive before quoting them.
      setTimeout(() => {
        finish(
          new TesseraError(
            'TSR_MODULE_EXITED',
            `${where} exited (${signal ? `signal ${signal}` : `code ${code}`}) before its handshake line; stderr: ${stderrTail()}`,
          ),
        );
      }, 50);
    });
    const stdout = createInterface({ input: child.stdout! });
    stdout.on('line', (line) => {
      if (done || handshaken) {
        spec.onLine?.('stdout', line);
        return;
      }
      const parsed = parseHandshake(line);
      if (parsed === 'not-handshake') {
        garbage.push(line);
        // Collect what else arrives at once, so the message shows the whole of what was printed.
        if (garbage.length === 1) {
          setTimeout(() => {
            finish(
              new TesseraError(
                'TSR_HANDSHAKE_GARBAGE',
                `${where} printed on stdout before its handshake line: ${JSON.stringify(garbage.join('\n').slice(0, 500))}. ` +
                  'A module must print nothing on stdout before "tessera-module|1|unix|<socket>"; log to stderr instead.',
              ),
            );
          }, 100);
        }
        return;
      }
      if (typeof parsed === 'string') {
        finish(new TesseraError('TSR_HANDSHAKE_BAD_LINE', `${where}: bad handshake line ${JSON.stringify(line)}: ${parsed}`));
        return;
      }
      if (garbage.length) return;
      handshaken = true;
      // The line promises a listening socket; check it, so a module that prints first and listens later
      // (or never) is told so rather than getting the gRPC channel's "No connection established".
      void connectError(parsed.address).then((err) => {
        if (!err) {
          finish(undefined, { child, pid: child.pid!, kill: (signal) => void kill(signal), socketPath: parsed.address, token, runtimeDir, exited, stderrTail });
          return;
        }
        finish(
          new TesseraError(
            'TSR_HANDSHAKE_NOT_LISTENING',
            `${where} printed its handshake line, but nothing listens on ${parsed.address} (connect: ${err.code ?? err.message}). ` +
              'A module must listen on the socket first and print "tessera-module|1|unix|<socket>" only after listening.',
          ),
        );
      });
    });
  });
}

// groupKiller signals the module's process group (-pid). ESRCH means the group is gone: nothing to do.
// Before the process has a pid (spawn failed), there is no group, and ChildProcess's own kill is used.
function groupKiller(child: ChildProcess): (signal: NodeJS.Signals | number) => boolean {
  const own = child.kill.bind(child);
  return (signal) => {
    if (child.pid === undefined) return own(signal);
    try {
      process.kill(-child.pid, signal);
      return true;
    } catch {
      return false;
    }
  };
}

// connectError connects to a unix socket once and resolves with the error, or undefined when something
// accepted. A connection that neither succeeds nor fails within a second is taken as listening (a busy
// server), and left to the gRPC channel.
function connectError(socketPath: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    const done = (err?: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => done(), 1000);
    socket.once('connect', () => done());
    socket.once('error', (err: NodeJS.ErrnoException) => done(err));
  });
}

/** parseHandshake reads `tessera-module|1|unix|<socket>`; a string result explains what is wrong. */
export function parseHandshake(line: string): { version: number; network: 'unix'; address: string } | string | 'not-handshake' {
  if (!line.startsWith('tessera-module|')) return 'not-handshake';
  const parts = line.split('|');
  if (parts.length < 4) return 'expected 4 fields separated by |';
  const version = Number(parts[1]);
  if (version !== HANDSHAKE_VERSION) return `handshake version ${parts[1]} is unknown to this core (it speaks ${HANDSHAKE_VERSION})`;
  if (parts[2] !== 'unix') return `network "${parts[2]}" is not supported (use unix)`;
  // Fields after the fourth are reserved for later handshake additions (go-plugin's lesson): ignored.
  const address = parts[3];
  if (!address.startsWith('/')) return 'the socket must be an absolute path';
  return { version, network: 'unix', address };
}
