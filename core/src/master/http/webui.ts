/**
 * The master's web UI at `GET /` (and `/index.html`): one self-contained page (inline CSS and script,
 * no external assets, no build step) that polls `state` every 2 s and shows the master, its agents,
 * frameworks, and running and recent tasks. Every value goes into the page as text (textContent),
 * never as HTML, so names from frameworks and agents cannot inject markup. URLs are relative, so the
 * page also works behind a proxy that mounts the master under a path.
 */
import type http from 'node:http';
import { reply } from './body';

/** WEB_UI_TITLE is the page's title. */
export const WEB_UI_TITLE = 'Tessera master';

/** WEB_UI_HTML is the page. */
export const WEB_UI_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${WEB_UI_TITLE}</title>
<style>
  :root { --fg: #1d2330; --muted: #6b7280; --line: #e5e7eb; --bg: #f8fafc; --ok: #15803d; --bad: #b91c1c; --accent: #1d4ed8; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px 24px; padding: 12px 24px; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { margin: 0; font-size: 18px; }
  header nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
  header nav a:hover { text-decoration: underline; }
  main { padding: 16px 24px 40px; }
  .facts { display: flex; flex-wrap: wrap; gap: 8px 28px; margin-bottom: 12px; color: var(--muted); }
  .facts b { color: var(--fg); font-weight: 600; }
  .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin-bottom: 8px; }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
  .card .n { font-size: 22px; font-weight: 600; }
  .card .l { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  section { margin-top: 22px; }
  h2 { font-size: 15px; margin: 0 0 6px; }
  h2 small { color: var(--muted); font-weight: normal; }
  table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
  th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { background: #f1f5f9; font-weight: 600; font-size: 12px; color: #374151; }
  tr:last-child td { border-bottom: none; }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
  td.empty { color: var(--muted); font-style: italic; }
  .yes { color: var(--ok); font-weight: 600; }
  .no { color: var(--bad); font-weight: 600; }
  .state-TASK_RUNNING, .state-TASK_FINISHED { color: var(--ok); }
  .state-TASK_FAILED, .state-TASK_ERROR, .state-TASK_LOST, .state-TASK_DROPPED, .state-TASK_GONE, .state-TASK_UNREACHABLE { color: var(--bad); }
  .state-TASK_KILLED, .state-TASK_KILLING { color: #b45309; }
  #status { margin-left: auto; color: var(--muted); font-size: 12px; }
  #status.error { color: var(--bad); font-weight: 600; }
</style>
</head>
<body>
<header>
  <h1>${WEB_UI_TITLE}</h1>
  <nav>
    <a href="state">/state</a>
    <a href="metrics">/metrics</a>
    <a href="metrics/snapshot">/metrics/snapshot</a>
    <a href="api/v1" title="the Mesos v1 operator API: POST a JSON call such as {&quot;type&quot;:&quot;GET_STATE&quot;}">/api/v1</a>
    <a href="version">/version</a>
  </nav>
  <span id="status">loading…</span>
</header>
<main>
  <div class="facts">
    <span>id <b id="master-id" class="mono">–</b></span>
    <span>version <b id="master-version">–</b></span>
    <span>host <b id="master-host">–</b></span>
    <span>leader <b id="master-leader" class="mono">–</b></span>
    <span>up <b id="master-uptime">–</b></span>
  </div>
  <div class="cards">
    <div class="card"><div class="n" id="n-agents">–</div><div class="l">agents active</div></div>
    <div class="card"><div class="n" id="n-frameworks">–</div><div class="l">frameworks connected</div></div>
    <div class="card"><div class="n" id="n-tasks">–</div><div class="l">tasks active</div></div>
    <div class="card"><div class="n" id="n-cpus">–</div><div class="l">cpus used / total</div></div>
    <div class="card"><div class="n" id="n-mem">–</div><div class="l">mem used / total</div></div>
    <div class="card"><div class="n" id="n-gpus">–</div><div class="l">gpus used / total</div></div>
  </div>
  <section>
    <h2>Agents <small id="agents-count"></small></h2>
    <table><thead><tr><th>hostname</th><th>id</th><th>active</th><th>cpus used / total</th><th>mem used / total</th><th>disk used / total</th><th>gpus used / total</th><th>version</th></tr></thead><tbody id="agents"></tbody></table>
  </section>
  <section>
    <h2>Frameworks <small id="frameworks-count"></small></h2>
    <table><thead><tr><th>name</th><th>id</th><th>connected</th><th>roles</th><th>user</th><th>active tasks</th><th>completed tasks</th><th>registered</th></tr></thead><tbody id="frameworks"></tbody></table>
  </section>
  <section>
    <h2>Active tasks <small id="active-count"></small></h2>
    <table><thead><tr><th>id</th><th>name</th><th>framework</th><th>agent</th><th>state</th><th>cpus</th><th>mem</th><th>since</th></tr></thead><tbody id="active"></tbody></table>
  </section>
  <section>
    <h2>Recent tasks <small>(latest 50 completed)</small></h2>
    <table><thead><tr><th>id</th><th>name</th><th>framework</th><th>agent</th><th>state</th><th>cpus</th><th>mem</th><th>ended</th></tr></thead><tbody id="recent"></tbody></table>
  </section>
</main>
<script>
(function () {
  'use strict';
  var STATE_URL = 'state';
  var POLL_MS = 2000;
  var RECENT = 50;

  function $(id) { return document.getElementById(id); }
  function setText(id, text) { $(id).textContent = text; }
  function num(x) { return typeof x === 'number' && isFinite(x) ? x : 0; }
  function round(x) { return Math.round(num(x) * 100) / 100; }
  function mem(mb) {
    mb = num(mb);
    return mb >= 1024 ? round(mb / 1024) + ' GB' : round(mb) + ' MB';
  }
  function duration(secs) {
    secs = Math.max(0, Math.floor(secs));
    var d = Math.floor(secs / 86400), h = Math.floor(secs % 86400 / 3600), m = Math.floor(secs % 3600 / 60), s = secs % 60;
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    if (m) return m + 'm ' + s + 's';
    return s + 's';
  }
  function ago(ts, now) { return ts ? duration(now - ts) + ' ago' : ''; }
  function lastTime(task) {
    var st = task.statuses || [];
    return st.length ? num(st[st.length - 1].timestamp) : 0;
  }
  function firstTime(task) {
    var st = task.statuses || [];
    return st.length ? num(st[0].timestamp) : 0;
  }

  // One table row from cells: a cell is text, or {text, cls}. Only textContent is ever set.
  function row(cells) {
    var tr = document.createElement('tr');
    cells.forEach(function (c) {
      var td = document.createElement('td');
      if (c !== null && typeof c === 'object') {
        td.textContent = c.text;
        if (c.cls) td.className = c.cls;
      } else {
        td.textContent = c === undefined || c === null ? '' : String(c);
      }
      tr.appendChild(td);
    });
    return tr;
  }
  function fill(id, rows, columns, emptyText) {
    var body = $(id);
    while (body.firstChild) body.removeChild(body.firstChild);
    if (!rows.length) {
      var tr = document.createElement('tr');
      var td = document.createElement('td');
      td.colSpan = columns;
      td.className = 'empty';
      td.textContent = emptyText;
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function yesNo(b) { return { text: b ? 'yes' : 'no', cls: b ? 'yes' : 'no' }; }
  function usedTotal(used, total, fmt) { return fmt(num(used)) + ' / ' + fmt(num(total)); }

  function render(state, now) {
    var agents = state.slaves || [];
    var frameworks = state.frameworks || [];
    setText('master-id', state.id || '');
    setText('master-version', state.version || '');
    setText('master-host', state.hostname || '');
    setText('master-leader', state.leader || '');
    setText('master-uptime', state.start_time ? duration(now - state.start_time) : '');

    var agentName = {};
    var totals = { cpus: 0, mem: 0, gpus: 0 }, used = { cpus: 0, mem: 0, gpus: 0 };
    agents.forEach(function (a) {
      agentName[a.id] = a.hostname;
      ['cpus', 'mem', 'gpus'].forEach(function (k) {
        totals[k] += num((a.resources || {})[k]);
        used[k] += num((a.used_resources || {})[k]);
      });
    });
    var frameworkName = {};
    frameworks.forEach(function (f) { frameworkName[f.id] = f.name; });

    var active = [], recent = [];
    frameworks.forEach(function (f) {
      (f.tasks || []).forEach(function (t) { active.push(t); });
      (f.completed_tasks || []).forEach(function (t) { recent.push(t); });
    });
    // Removed frameworks (e.g. each \`tessera run\`) keep their tasks in completed_frameworks.
    (state.completed_frameworks || []).forEach(function (f) {
      frameworkName[f.id] = f.name;
      (f.completed_tasks || []).forEach(function (t) { recent.push(t); });
    });
    recent.sort(function (a, b) { return lastTime(b) - lastTime(a); });
    recent = recent.slice(0, RECENT);
    active.sort(function (a, b) { return firstTime(b) - firstTime(a); });

    setText('n-agents', agents.filter(function (a) { return a.active; }).length + ' / ' + agents.length);
    setText('n-frameworks', frameworks.filter(function (f) { return f.connected; }).length + ' / ' + frameworks.length);
    setText('n-tasks', String(active.length));
    setText('n-cpus', usedTotal(used.cpus, totals.cpus, round));
    setText('n-mem', usedTotal(used.mem, totals.mem, mem));
    setText('n-gpus', usedTotal(used.gpus, totals.gpus, round));
    setText('agents-count', '(' + agents.length + ')');
    setText('frameworks-count', '(' + frameworks.length + ')');
    setText('active-count', '(' + active.length + ')');

    fill('agents', agents.map(function (a) {
      var r = a.resources || {}, u = a.used_resources || {};
      return row([a.hostname, { text: a.id, cls: 'mono' }, yesNo(a.active), usedTotal(u.cpus, r.cpus, round), usedTotal(u.mem, r.mem, mem), usedTotal(u.disk, r.disk, mem), usedTotal(u.gpus, r.gpus, round), a.version || '']);
    }), 8, 'no agents registered');
    fill('frameworks', frameworks.map(function (f) {
      return row([f.name, { text: f.id, cls: 'mono' }, yesNo(f.connected), (f.roles || []).join(', '), f.user || '', (f.tasks || []).length, (f.completed_tasks || []).length, ago(f.registered_time, now)]);
    }), 8, 'no frameworks subscribed');
    function taskRow(t, when) {
      var r = t.resources || {};
      return row([{ text: t.id, cls: 'mono' }, t.name || '', frameworkName[t.framework_id] || t.framework_id, agentName[t.slave_id] || t.slave_id, { text: t.state, cls: 'state-' + t.state }, round(r.cpus), mem(r.mem), ago(when(t), now)]);
    }
    fill('active', active.map(function (t) { return taskRow(t, firstTime); }), 8, 'no active tasks');
    fill('recent', recent.map(function (t) { return taskRow(t, lastTime); }), 8, 'no completed tasks yet');
  }

  function poll() {
    var status = $('status');
    fetch(STATE_URL, { cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        // The master's clock, not this browser's, for uptimes and ages.
        var date = Date.parse(res.headers.get('Date') || '');
        return res.json().then(function (state) { return { state: state, now: (isNaN(date) ? Date.now() : date) / 1000 }; });
      })
      .then(function (r) {
        render(r.state, r.now);
        status.className = '';
        status.textContent = 'updated ' + new Date().toLocaleTimeString();
      })
      .catch(function (err) {
        status.className = 'error';
        status.textContent = 'cannot load /state (' + err.message + '): retrying every ' + POLL_MS / 1000 + ' s';
      })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  poll();
})();
</script>
</body>
</html>
`;

/** webUi answers `GET /` and `/index.html` with the page (405 for other methods, as it is read-only). */
export function webUi(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return reply(res, 405, `Expecting a 'GET' request, received '${req.method}'`);
  }
  const body = Buffer.from(WEB_UI_HTML, 'utf8');
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(body.length),
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    // Inline script and style only; fetches go to this master.
    'Content-Security-Policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
