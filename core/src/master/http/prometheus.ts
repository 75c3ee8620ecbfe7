/**
 * `GET /metrics`: the master's figures in the Prometheus text format (version 0.0.4), for scrapers that
 * do not speak Mesos's `/metrics/snapshot`. The figures are the snapshot's, renamed `tessera_master_*`
 * (states and resource names become labels), plus the offer counters the allocator's work shows in,
 * followed by the module host's per-module metrics.
 *
 * ```ts
 * res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
 * res.end(masterPrometheus(master, modules.metrics));
 * ```
 */
import type { Master } from '../master';
import { metricsSnapshot } from './legacy-endpoints';

/** PROMETHEUS_CONTENT_TYPE is the media type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** ModuleMetricsSource is what renders the module host's metrics (ModuleMetrics). */
export interface ModuleMetricsSource {
  prometheus(): string;
}

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: { labels?: Record<string, string>; value: number }[];
}

// Where each /metrics/snapshot figure goes: a family, and the labels of its sample.
const FROM_SNAPSHOT: Record<string, { family: string; labels?: Record<string, string> }> = {
  'master/elected': { family: 'elected' },
  'master/uptime_secs': { family: 'uptime_seconds' },
  'master/slaves_active': { family: 'agents', labels: { state: 'active' } },
  'master/slaves_inactive': { family: 'agents', labels: { state: 'inactive' } },
  'master/slaves_connected': { family: 'agents_connected' },
  'master/frameworks_active': { family: 'frameworks', labels: { state: 'active' } },
  'master/frameworks_inactive': { family: 'frameworks', labels: { state: 'inactive' } },
  'master/outstanding_offers': { family: 'outstanding_offers' },
  'master/tasks_staging': { family: 'tasks', labels: { state: 'staging' } },
  'master/tasks_starting': { family: 'tasks', labels: { state: 'starting' } },
  'master/tasks_running': { family: 'tasks', labels: { state: 'running' } },
  'master/tasks_killing': { family: 'tasks', labels: { state: 'killing' } },
  'master/tasks_finished': { family: 'tasks', labels: { state: 'finished' } },
  'master/tasks_failed': { family: 'tasks', labels: { state: 'failed' } },
  'master/tasks_killed': { family: 'tasks', labels: { state: 'killed' } },
  'master/tasks_lost': { family: 'tasks', labels: { state: 'lost' } },
  'master/tasks_error': { family: 'tasks', labels: { state: 'error' } },
  'master/cpus_total': { family: 'resources_total', labels: { resource: 'cpus' } },
  'master/mem_total': { family: 'resources_total', labels: { resource: 'mem' } },
  'master/gpus_total': { family: 'resources_total', labels: { resource: 'gpus' } },
  'master/cpus_used': { family: 'resources_used', labels: { resource: 'cpus' } },
  'master/mem_used': { family: 'resources_used', labels: { resource: 'mem' } },
  'master/gpus_used': { family: 'resources_used', labels: { resource: 'gpus' } },
  'master/messages_launch_tasks': { family: 'tasks_launched_total' },
  'master/messages_decline_offers': { family: 'offers_declined_total' },
  'master/offers_rescinded': { family: 'offers_rescinded_total' },
  'master/invalid_calls': { family: 'invalid_calls_total' },
  'master/messages_status_update': { family: 'status_updates_total' },
};

const FAMILIES: Record<string, { type: Family['type']; help: string }> = {
  elected: { type: 'gauge', help: '1 when this master leads the cluster (a Tessera master always does).' },
  uptime_seconds: { type: 'gauge', help: 'Seconds since the master started.' },
  agents: { type: 'gauge', help: 'Registered agents, active (connected) or inactive (disconnected, awaiting re-registration).' },
  agents_connected: { type: 'gauge', help: 'Agents with an open connection to the master.' },
  frameworks: { type: 'gauge', help: 'Frameworks, active (subscribed) or inactive (disconnected, within failover_timeout).' },
  outstanding_offers: { type: 'gauge', help: 'Offers sent to frameworks and not yet accepted, declined or rescinded.' },
  tasks: { type: 'gauge', help: 'Tasks by state: active ones, and the terminal ones the master still keeps (the latest 1000 per framework).' },
  resources_total: { type: 'gauge', help: 'Resources of all registered agents.' },
  resources_used: { type: 'gauge', help: 'Resources used by active tasks.' },
  tasks_launched_total: { type: 'counter', help: 'Tasks the master sent to agents.' },
  offers_sent_total: { type: 'counter', help: 'Offers sent to frameworks (the allocator module\'s allocations that reached a framework).' },
  offers_declined_total: { type: 'counter', help: 'Offers declined (DECLINE, or ACCEPT without launches).' },
  offers_rescinded_total: { type: 'counter', help: 'Offers taken back (offer timeout, agent or framework gone).' },
  invalid_calls_total: { type: 'counter', help: 'Scheduler calls refused as invalid.' },
  status_updates_total: { type: 'counter', help: 'Task status updates received from agents.' },
};

/** masterPrometheus renders the master's metrics and, when given, the modules' metrics. */
export function masterPrometheus(master: Master, modules?: ModuleMetricsSource): string {
  const families = new Map<string, Family>();
  const add = (family: string, value: number, labels?: Record<string, string>, fallbackHelp?: string) => {
    let f = families.get(family);
    if (!f) {
      const meta = FAMILIES[family] ?? { type: 'gauge' as const, help: fallbackHelp ?? family };
      families.set(family, (f = { name: `tessera_master_${family}`, type: meta.type, help: meta.help, samples: [] }));
    }
    f.samples.push({ labels, value });
  };
  for (const [key, value] of Object.entries(metricsSnapshot(master))) {
    const to = FROM_SNAPSHOT[key];
    // A figure added to the snapshot later still shows, as a gauge named after its key.
    if (to) add(to.family, value, to.labels);
    else add(key.replace(/^master\//, '').replace(/[^a-zA-Z0-9_]/g, '_'), value, undefined, `The /metrics/snapshot figure ${key}.`);
  }
  add('offers_sent_total', master.counters.offersSent);
  const lines: string[] = [];
  for (const f of families.values()) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return lines.join('\n') + '\n' + (modules?.prometheus() ?? '');
}

function formatLabels(labels: Record<string, string> | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return `{${parts.join(',')}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
