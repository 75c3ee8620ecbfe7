/**
 * ForkServer starts container processes from a small long-lived `bash` process instead of the agent.
 * Why: Node's spawn forks the whole agent, and its cost grows with the agent's memory (measured on a
 * 2-core machine: 2.2 ms per spawn at 40 MiB, 17 ms at 300 MiB), while a fork of a 4 MiB bash costs
 * a fraction of a millisecond and runs on another core. 1,000 containers start in about a second.
 *
 * Protocol (one line each way, words quoted with bash's $'...'):
 * - agent -> server: `<id> <runtime dir> <stdout> <stderr> <cwd> <n> <n × NAME=value> <argv...>`
 * - server -> agent: `pid <id> <pid>` once the container's shim runs, and (from the shim itself, through
 *   an inherited copy of the server's stdout) `exit <id> <status>` when the command ended.
 *
 * The shim is a bash function run in a forked subshell: with `set -m` in the server each one gets its
 * own process group (the group the agent signals). It holds by stopping itself (SIGSTOP); the agent
 * isolates the pid, waits for the stopped state and sends SIGCONT. If the agent (and so the server)
 * dies while a shim is held, the kernel sends SIGHUP + SIGCONT to the now orphaned, stopped process
 * group and the shim dies without running anything. Released, it takes the container's working
 * directory, starts the command as a background child with default signal dispositions and the
 * container's environment (exported in that child only, so no variable name can change the shim),
 * and only then traps SIGTERM to wait for it and record its status (see the POSIX shim in launcher.ts
 * for why the trap comes after the fork), then writes `exit <N>` to the status file.
 *
 * ```ts
 * const server = new ForkServer(runtimeDir, log, (id, code) => onExit(id, code));
 * const held = await server.spawn({ id, containerDir, argv, env, cwd, stdout, stderr });
 * await held.release();
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Log } from '../../log';
import type { HeldProcess, SpawnSpec } from './launcher';
import { readStat } from './proc';

/** FORK_SERVER is the server's bash text (written into --runtime_dir, content-addressed). */
export const FORK_SERVER = `# Tessera container fork server (written by the agent: core/src/agent/containerizer/fork-server.ts).
# Reads one container per line on stdin; answers "pid <id> <pid>"; shims report "exit <id> <status>".
set -m
tessera_shim() {
  set +m
  local id=$1 dir=$2 out=$3 err=$4 cwd=$5 n=$6 code child
  shift 6
  local -a vars=("\${@:1:n}")
  shift "$n"
  kill -STOP "$BASHPID"
  exec </dev/null >>"$out" 2>>"$err" || exit 125
  unset PWD OLDPWD SHLVL
  if ! cd "$cwd"; then
    code=126
  else
    # Exported in the command's subshell only: a variable named like one of the shim's (n, id, dir...) must not change the shim.
    ( trap - INT QUIT; [ \${#vars[@]} -eq 0 ] || export "\${vars[@]}"; exec "$@" ) 5>&- &
    child=$!
    trap 'tessera_terminated=1' TERM
    trap 'tessera_hangup=1' HUP
    while :; do
      wait "$child"
      code=$?
      if [ "$code" -le 128 ] || ! kill -0 "$child" 2>/dev/null; then break; fi
    done
  fi
  printf 'exit %d\\n' "$code" > "$dir/status"
  printf 'exit %s %d\\n' "$id" "$code" >&5
  exit "$code"
}
while IFS= read -r line; do
  eval "set -- $line" || continue
  tessera_shim "$@" 5>&1 </dev/null >/dev/null &
  printf 'pid %s %d\\n' "$1" "$!"
  disown "$!" 2>/dev/null
done
`;

/** bashQuote quotes one word as bash's $'...' with every unusual byte escaped, so a line never breaks. */
export function bashQuote(s: string): string {
  let out = "$'";
  for (const b of Buffer.from(s, 'utf8')) {
    const safe = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || '_./:=@%+,-'.includes(String.fromCharCode(b));
    out += safe ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out + "'";
}

/** Variables bash cannot export or that change bash itself: a container with one goes through the direct launcher. */
const BASH_UNSAFE = /^(BASH.*|SHELLOPTS|UID|EUID|PPID|GROUPS|FUNCNAME|HISTCMD|RANDOM|SRANDOM|SECONDS|LINENO|EPOCH.*|IFS|PS4|ENV)$/;

/** forkServerCanRun tells whether the server can start a container with this environment. */
export function forkServerCanRun(env: Record<string, string>): boolean {
  return Object.keys(env).every((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !BASH_UNSAFE.test(k));
}

/** FORK_SERVER_SPAWN_TIMEOUT_MS bounds the wait for the server's pid answer. */
const SPAWN_TIMEOUT_MS = 30_000;
/** How long release() waits for the shim to have stopped itself. */
const STOP_TIMEOUT_MS = 30_000;

interface Pending {
  resolve: (pid: number) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** ForkServer runs the bash fork server; see the module comment. */
export class ForkServer {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly script: string;
  private closed = false;

  constructor(
    runtimeDir: string,
    private readonly log: Log,
    private readonly onExit: (containerId: string, status: number) => void,
  ) {
    const hash = crypto.createHash('sha256').update(FORK_SERVER).digest('hex').slice(0, 12);
    this.script = path.join(runtimeDir, `fork-server-${hash}.bash`);
    if (!fs.existsSync(this.script)) {
      const tmp = `${this.script}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, FORK_SERVER, { mode: 0o644 });
      fs.renameSync(tmp, this.script);
    }
  }

  private start(): ChildProcess {
    // Its own session (no terminal signals), an empty environment (each shim sets its container's).
    const child = spawn('bash', [this.script], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: {} });
    child.unref();
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      for (const line of d.split('\n')) if (line.trim()) this.log.warn(`container fork server: ${line}`);
    });
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    child.stdin!.on('error', () => undefined);
    child.on('error', (err) => this.failAll(`the container fork server (bash) could not start: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.closed) this.log.warn(`container fork server exited (${signal ?? `code ${code}`}); a new one starts with the next launch`);
      this.failAll(`the container fork server exited (${signal ?? `code ${code}`})`);
    });
    return child;
  }

  private onLine(line: string): void {
    const [kind, id, value] = line.split(' ');
    if (kind === 'pid') {
      const p = this.pending.get(id);
      if (!p) {
        // Its spawn gave up waiting (timeout): nobody will release or watch this held shim, so end it.
        const late = Number(value);
        if (late > 0) {
          try {
            process.kill(-late, 'SIGKILL');
          } catch {
            // gone already
          }
        }
        return;
      }
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(Number(value));
    } else if (kind === 'exit') {
      this.onExit(id, Number(value));
    }
  }

  private failAll(message: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(message));
      this.pending.delete(id);
    }
  }

  /** spawn starts a held shim for one container and resolves with its pid once it runs. */
  async spawn(spec: SpawnSpec & { id: string }): Promise<HeldProcess> {
    if (this.closed) throw new Error('the container fork server is closed');
    if (this.pending.has(spec.id)) throw new Error(`container ${spec.id} is already being started`);
    this.child ??= this.start();
    const envWords = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
    const words = [spec.id, spec.containerDir, spec.stdout, spec.stderr, spec.cwd, String(envWords.length), ...envWords, ...spec.argv];
    const pid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(spec.id);
        reject(new Error(`the container fork server did not start the container within ${SPAWN_TIMEOUT_MS} ms`));
      }, SPAWN_TIMEOUT_MS);
      this.pending.set(spec.id, { resolve, reject, timer });
      this.child!.stdin!.write(words.map(bashQuote).join(' ') + '\n');
    });
    const startTime = readStat(pid)?.startTime ?? 0;
    return { pid, startTime, release: () => release(pid, startTime) };
  }

  /** close ends the server (running containers keep running; held ones, if any, die with it). */
  close(): void {
    this.closed = true;
    this.failAll('the container fork server was closed');
    this.child?.stdin?.end();
    this.child = undefined;
  }
}

/** release waits until the shim has stopped itself (SIGSTOP), then continues it. */
async function release(pid: number, startTime: number): Promise<void> {
  const until = Date.now() + STOP_TIMEOUT_MS;
  for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
    const s = readStat(pid);
    if (!s || s.startTime !== startTime || s.state === 'Z' || s.state === 'X') throw new Error('the container process exited before it was released');
    if (s.state === 'T' || s.state === 't') break;
    if (Date.now() > until) throw new Error(`the container process did not reach its hold point within ${STOP_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, wait));
  }
  process.kill(pid, 'SIGCONT');
}
