/**
 * `GET /metrics` on the agent: its `/metrics/snapshot` figures in the Prometheus text format (version
 * 0.0.4), renamed `tessera_agent_*` with task states and resource names as labels, then the number of
 * live containers, then the module host's per-module metrics (isolator calls, restarts...).
 *
 * ```ts
 * res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
 * res.end(agentPrometheus(view));
 * ```
 */
import type { AgentView } from '../agent-view';

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: { labels?: Record<string, string>; value: number }[];
}

const ACTIVE_STATES = new Set(['staging', 'starting', 'running', 'killing']);
const RESOURCES = new Set(['cpus', 'mem', 'disk', 'gpus']);

const HELP: Record<string, { type: Family['type']; help: string }> = {
  registered: { type: 'gauge', help: '1 while the agent is registered with the master on an open stream.' },
  uptime_seconds: { type: 'gauge', help: 'Seconds since the agent started.' },
  tasks: { type: 'gauge', help: 'Tasks on the agent that are not terminal, by state.' },
  tasks_terminal_total: { type: 'counter', help: 'Tasks that reached a terminal state since the agent started, by state.' },
  resources_total: { type: 'gauge', help: 'The agent\'s resources (detected or --resources, plus what isolator modules provide).' },
  resources_used: { type: 'gauge', help: 'Resources used by the agent\'s tasks.' },
  resources_used_ratio: { type: 'gauge', help: 'Resources used by tasks as a fraction of the total.' },
  containers: { type: 'gauge', help: 'Containers that have not terminated yet.' },
};

/** agentPrometheus renders the agent's metrics and the modules'. */
export function agentPrometheus(view: AgentView): string {
  const families = new Map<string, Family>();
  const add = (family: string, value: number, labels?: Record<string, string>, fallbackHelp?: string) => {
    let f = families.get(family);
    if (!f) {
      const meta = HELP[family] ?? { type: family.endsWith('_total') ? ('counter' as const) : ('gauge' as const), help: fallbackHelp ?? family };
      families.set(family, (f = { name: `tessera_agent_${family}`, type: meta.type, help: meta.help, samples: [] }));
    }
    f.samples.push({ labels, value });
  };
  for (const [key, value] of Object.entries(view.metrics())) {
    // Module figures (modules/<name>/...) are rendered by the module host as tessera_module_*.
    if (typeof value !== 'number' || key.startsWith('modules/')) continue;
    const name = key.replace(/^slave\//, '');
    const task = /^tasks_([a-z_]+)$/.exec(name);
    const res = /^([a-z]+)_(total|used|percent)$/.exec(name);
    if (name === 'registered') add('registered', value);
    else if (name === 'uptime_secs') add('uptime_seconds', value);
    else if (task) add(ACTIVE_STATES.has(task[1]) ? 'tasks' : 'tasks_terminal_total', value, { state: task[1] });
    else if (res && RESOURCES.has(res[1])) add(res[2] === 'percent' ? 'resources_used_ratio' : `resources_${res[2]}`, value, { resource: res[1] });
    // A figure without a family of its own still shows, as a gauge named after its key.
    else add(name.replace(/[^a-zA-Z0-9_]/g, '_'), value, undefined, `The /metrics/snapshot figure ${key}.`);
  }
  if (!families.has('containers')) add('containers', view.containerizer.containers().length);
  const lines: string[] = [];
  for (const f of families.values()) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${labelText(s.labels)} ${valueText(s.value)}`);
  }
  return lines.join('\n') + '\n' + view.modulePrometheus();
}

function labelText(labels: Record<string, string> | undefined): string {
  if (!labels) return '';
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
    .join(',')}}`;
}

function valueText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
