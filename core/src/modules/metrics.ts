/** Per-module metrics: calls, errors and latency by method, restarts and state. */
import type { TesseraError } from '../errors';

const BUCKETS_US = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 50_000, 250_000, 1_000_000, 5_000_000];

/** MethodStats holds one method's figures. */
export interface MethodStats {
  calls: number;
  errors: number;
  /** buckets counts calls at or under each bound of BUCKETS_US (cumulative when exported). */
  buckets: number[];
  sumUs: number;
}

/** ModuleMetrics collects metrics of every module the host runs. */
export class ModuleMetrics {
  private readonly methods = new Map<string, Map<string, MethodStats>>();
  private readonly restarts = new Map<string, number>();
  private readonly states = new Map<string, string>();

  /** observe records one finished call. */
  observe(module: string, method: string, micros: number, error: TesseraError | undefined): void {
    let byMethod = this.methods.get(module);
    if (!byMethod) this.methods.set(module, (byMethod = new Map()));
    let s = byMethod.get(method);
    if (!s) byMethod.set(method, (s = { calls: 0, errors: 0, buckets: new Array<number>(BUCKETS_US.length + 1).fill(0), sumUs: 0 }));
    s.calls++;
    if (error) s.errors++;
    s.sumUs += micros;
    let i = 0;
    while (i < BUCKETS_US.length && micros > BUCKETS_US[i]) i++;
    s.buckets[i]++;
  }

  restarted(module: string): void {
    this.restarts.set(module, (this.restarts.get(module) ?? 0) + 1);
  }

  state(module: string, state: string): void {
    this.states.set(module, state);
  }

  /** snapshot is the Mesos-style flat object: {"modules/<name>/<method>/calls": n, ...}. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [module, byMethod] of this.methods) {
      for (const [method, s] of byMethod) {
        const p = `modules/${module}/${method}`;
        out[`${p}/calls`] = s.calls;
        out[`${p}/errors`] = s.errors;
        out[`${p}/latency_us_mean`] = s.calls ? s.sumUs / s.calls : 0;
        out[`${p}/latency_us_p50`] = quantile(s, 0.5);
        out[`${p}/latency_us_p99`] = quantile(s, 0.99);
      }
    }
    for (const [module, n] of this.restarts) out[`modules/${module}/restarts`] = n;
    for (const [module, st] of this.states) out[`modules/${module}/ready`] = st === 'ready' ? 1 : 0;
    return out;
  }

  /** prometheus renders the metrics in the Prometheus text format. */
  prometheus(): string {
    const lines = [
      '# HELP tessera_module_calls_total Calls to modules by method.',
      '# TYPE tessera_module_calls_total counter',
    ];
    const hist: string[] = ['# HELP tessera_module_call_duration_seconds Module call latency.', '# TYPE tessera_module_call_duration_seconds histogram'];
    const errs: string[] = ['# HELP tessera_module_call_errors_total Failed calls to modules by method.', '# TYPE tessera_module_call_errors_total counter'];
    for (const [module, byMethod] of this.methods) {
      for (const [method, s] of byMethod) {
        const l = `module="${module}",method="${method}"`;
        lines.push(`tessera_module_calls_total{${l}} ${s.calls}`);
        errs.push(`tessera_module_call_errors_total{${l}} ${s.errors}`);
        let cum = 0;
        BUCKETS_US.forEach((b, i) => {
          cum += s.buckets[i];
          hist.push(`tessera_module_call_duration_seconds_bucket{${l},le="${b / 1e6}"} ${cum}`);
        });
        hist.push(`tessera_module_call_duration_seconds_bucket{${l},le="+Inf"} ${s.calls}`);
        hist.push(`tessera_module_call_duration_seconds_sum{${l}} ${s.sumUs / 1e6}`);
        hist.push(`tessera_module_call_duration_seconds_count{${l}} ${s.calls}`);
      }
    }
    const restarts = ['# HELP tessera_module_restarts_total Module process restarts.', '# TYPE tessera_module_restarts_total counter'];
    for (const [module, n] of this.restarts) restarts.push(`tessera_module_restarts_total{module="${module}"} ${n}`);
    const up = ['# HELP tessera_module_up Whether a module is ready.', '# TYPE tessera_module_up gauge'];
    for (const [module, st] of this.states) up.push(`tessera_module_up{module="${module}"} ${st === 'ready' ? 1 : 0}`);
    return [...lines, ...errs, ...hist, ...restarts, ...up].join('\n') + '\n';
  }
}

function quantile(s: MethodStats, q: number): number {
  const target = s.calls * q;
  let cum = 0;
  for (let i = 0; i < s.buckets.length; i++) {
    cum += s.buckets[i];
    if (cum >= target) return i < BUCKETS_US.length ? BUCKETS_US[i] : Infinity;
  }
  return 0;
}
