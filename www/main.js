// The page's UI thread: it only presents. Files are read here (asynchronously) and handed to the
// worker, which owns the WebAssembly module and does all parsing and analysis.
// Every piece of text that comes from an input goes into the page as a text node, never as HTML.

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// DOM helpers: elements are built with createElement and text with createTextNode only.

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  return el;
}

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return append(el, children);
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const formatMs = (ms) => (ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`);

// ---------------------------------------------------------------------------------------------
// The worker and its request/response protocol.

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const pending = new Map();
let nextId = 1;
let busy = 0;

function call(type, payload = {}, transfer = []) {
  const id = nextId++;
  busy++;
  document.body.classList.add('busy');
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, type, ...payload }, transfer);
  }).finally(() => {
    busy--;
    if (busy === 0) document.body.classList.remove('busy');
  });
}

worker.onmessage = (ev) => {
  const m = ev.data || {};
  if (m.type === 'ready') return onReady(m.sample);
  if (m.type === 'fatal') return onFatal(m.error);
  const p = pending.get(m.id);
  if (!p) return;
  pending.delete(m.id);
  if (m.ok) p.resolve({ result: m.result, ms: m.ms });
  else p.reject(new Error(m.error));
};

worker.onerror = (ev) => {
  ev.preventDefault();
  onFatal(ev.message || 'the analyzer could not be loaded');
};

// ---------------------------------------------------------------------------------------------
// State.

let sampleInfo = null;
let report = null; // the current ParseReport
let pathIndex = new Map(); // input path → index, for the source viewer
let usingSample = false;

function setStatus(text, kind = '') {
  const s = $('status');
  s.className = `status ${kind}`.trim();
  s.textContent = text;
}

function onReady(sample) {
  sampleInfo = sample;
  $('sample-button').disabled = false;
  setStatus('Ready. Drop files, choose them, or load the sample network.');
}

function onFatal(error) {
  $('sample-button').disabled = true;
  $('file-input').disabled = true;
  const hint = location.protocol === 'file:' ? ' Serve this folder over HTTP (see the README).' : '';
  setStatus(`The analyzer could not start: ${error}.${hint}`, 'error');
}

// ---------------------------------------------------------------------------------------------
// Reading files: from the file picker, or dropped files and folders.

async function readFile(file, path) {
  return { name: path || file.webkitRelativePath || file.name, bytes: await file.arrayBuffer() };
}

function entryFile(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function readEntry(entry, out) {
  if (entry.isFile) {
    out.push(await readFile(await entryFile(entry), entry.fullPath.replace(/^\/+/, '')));
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) break;
      for (const e of batch) await readEntry(e, out);
    }
  }
}

async function filesFromDrop(dt) {
  const entries = [...(dt.items || [])]
    .filter((i) => i.kind === 'file')
    .map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
  if (entries.length > 0 && entries.every(Boolean)) {
    const out = [];
    for (const e of entries) await readEntry(e, out);
    return out;
  }
  return Promise.all([...dt.files].map((f) => readFile(f)));
}

async function loadFiles(filesPromise) {
  let files;
  try {
    setStatus('Reading files…', 'working');
    files = await filesPromise;
  } catch (e) {
    setStatus(`Could not read the files: ${e.message}`, 'error');
    return;
  }
  if (files.length === 0) {
    setStatus('No files were given.', 'error');
    return;
  }
  const bytes = files.reduce((n, f) => n + f.bytes.byteLength, 0);
  setStatus(`Parsing ${plural(files.length, 'file')} (${formatBytes(bytes)})…`, 'working');
  try {
    const { result, ms } = await call('load', { files }, files.map((f) => f.bytes));
    usingSample = false;
    showReport(result, ms);
  } catch (e) {
    setStatus(`Could not load the files: ${e.message}`, 'error');
  }
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

async function loadSample() {
  setStatus('Parsing the sample network…', 'working');
  try {
    const { result, ms } = await call('loadSample');
    usingSample = true;
    showReport(result, ms);
  } catch (e) {
    setStatus(`Could not load the sample: ${e.message}`, 'error');
  }
}

// ---------------------------------------------------------------------------------------------
// The parse report: files table and devices.

const STATUS_LABEL = { ok: 'ok', partial: 'partial', failed: 'failed', unsupported: 'unsupported' };

function showReport(r, ms) {
  report = r;
  pathIndex = new Map();
  r.inputs.forEach((inp, i) => {
    if (!pathIndex.has(inp.path)) pathIndex.set(inp.path, i);
  });

  const rules = r.devices.reduce((n, d) => n + d.rules, 0);
  setStatus(
    `Loaded ${plural(r.inputs.length, 'file')} into ${plural(r.devices.length, 'device')} ` +
      `with ${plural(rules, 'rule')} in ${formatMs(ms)}.`,
    'done',
  );

  renderInputs(r.inputs);
  renderDevices(r.devices);
  renderEndpoints(r.devices);
  renderSampleInfo();
  $('result-card').hidden = true;
  clear($('result'));
  $('workspace').hidden = false;
}

function renderInputs(inputs) {
  $('inputs-count').textContent = String(inputs.length);
  const body = clear($('inputs-table').tBodies[0]);
  inputs.forEach((inp, i) => {
    const diagId = `diag-${i}`;
    const n = inp.diagnostics.length;
    let diagCell;
    if (n === 0) {
      diagCell = h('span', { class: 'muted' }, 'none');
    } else {
      const worst = inp.diagnostics.some((d) => d.severity === 'error')
        ? 'error'
        : inp.diagnostics.some((d) => d.severity === 'warning')
          ? 'warning'
          : 'info';
      diagCell = h(
        'button',
        { type: 'button', class: `toggle sev-${worst}`, 'aria-expanded': 'false', 'aria-controls': diagId },
        h('span', { class: 'chev', 'aria-hidden': 'true' }),
        String(n),
      );
      diagCell.setAttribute('aria-label', `${plural(n, 'diagnostic')} for ${inp.path}`);
      diagCell.title = `Show ${plural(n, 'diagnostic')}`;
      diagCell.addEventListener('click', () => {
        const row = $(diagId);
        const open = row.hidden;
        row.hidden = !open;
        diagCell.setAttribute('aria-expanded', String(open));
      });
    }
    const unsupported = inp.status === 'unsupported';
    body.appendChild(
      h(
        'tr',
        { class: `status-row-${inp.status}` },
        h('td', { class: 'path', title: inp.path }, pathCell(inp.path)),
        h('td', { class: 'format', title: inp.format }, unsupported ? h('span', { class: 'muted' }, inp.format) : inp.format),
        h('td', { class: 'col-device', title: inp.device ?? null }, inp.device ?? h('span', { class: 'muted' }, '—')),
        h('td', null, h('span', { class: `pill status-${inp.status}`, title: inp.status_text }, STATUS_LABEL[inp.status] ?? inp.status)),
        h('td', { class: 'coverage' }, unsupported ? h('span', { class: 'muted' }, '—') : coverageBar(inp)),
        h('td', null, diagCell),
      ),
    );
    if (n > 0) {
      body.appendChild(
        h('tr', { id: diagId, class: 'diag-row', hidden: true }, h('td', { colspan: '6' }, renderDiagnostics(inp, i))),
      );
    }
  });
}

function pathCell(path) {
  const cut = path.lastIndexOf('/');
  if (cut < 0) return h('span', { class: 'fname' }, path);
  return [h('span', { class: 'fname' }, path.slice(cut + 1)), h('span', { class: 'dir' }, path.slice(0, cut + 1))];
}

function coverageBar(inp) {
  const fill = h('span', { class: inp.coverage < 100 ? 'fill partial' : 'fill' });
  fill.style.width = `${Math.max(0, Math.min(100, inp.coverage))}%`;
  const lines = inp.lines;
  return h(
    'span',
    {
      class: 'cov',
      title: `${lines.total} lines, ${lines.skipped} skipped (comments, blank), ${lines.unrecognized} not fully understood`,
    },
    h('span', { class: 'bar', 'aria-hidden': 'true' }, fill),
    `${inp.coverage}%`,
  );
}

const MAX_DIAGNOSTICS_SHOWN = 200;

function renderDiagnostics(inp, fileIndex) {
  const list = h('ul', { class: 'diags' });
  for (const d of inp.diagnostics.slice(0, MAX_DIAGNOSTICS_SHOWN)) {
    list.appendChild(
      h(
        'li',
        { class: `diag sev-${d.severity}` },
        h(
          'div',
          { class: 'diag-head' },
          d.line > 0 ? sourceLink(inp.path, d.line, `line ${d.line}`, fileIndex) : h('span', { class: 'loc' }, 'whole file'),
          h('code', { class: 'code' }, d.code),
          h('span', { class: `sev sev-${d.severity}` }, d.severity),
          h('span', { class: 'reason' }, d.reason),
          d.context ? h('span', { class: 'muted ctx' }, `in ${d.context}`) : null,
        ),
        d.text ? h('pre', { class: 'line-text' }, d.text) : null,
      ),
    );
  }
  const more = inp.diagnostics.length - MAX_DIAGNOSTICS_SHOWN;
  return h('div', null, list, more > 0 ? h('p', { class: 'muted' }, `and ${more} more`) : null);
}

function renderDevices(devices) {
  $('devices-count').textContent = String(devices.length);
  const ul = clear($('devices'));
  if (devices.length === 0) {
    ul.appendChild(h('li', { class: 'empty' }, 'No device could be assembled from these files.'));
    return;
  }
  for (const d of devices) {
    const facts = [
      plural(d.interfaces.length, 'interface'),
      plural(d.routes, 'route'),
      plural(d.rulesets, 'ruleset'),
      plural(d.rules, 'rule'),
    ];
    ul.appendChild(
      h(
        'li',
        { class: 'device' },
        h('div', { class: 'device-head' }, h('h3', null, d.name), h('span', { class: 'muted' }, facts.join(' · '))),
        d.unknown_rules > 0
          ? h('p', { class: 'warn' }, `${plural(d.unknown_rules, 'rule')} with conditions or actions that are not modelled: answers that depend on them are "possibly".`)
          : null,
        d.interfaces.length
          ? h('ul', { class: 'ifaces', 'aria-label': `Interfaces of ${d.name}` }, d.interfaces.map((i) => interfaceChip(i)))
          : h('p', { class: 'muted small' }, 'No interface data: add its ip addr dump to place it in the network.'),
        h('p', { class: 'files small muted' }, 'From ', d.files.join(', ')),
      ),
    );
  }
}

function interfaceChip(text) {
  const [name, ...addrs] = text.split(' ');
  return h('li', { class: 'iface' }, h('span', { class: 'iface-name' }, name), addrs.length ? h('span', { class: 'iface-addr' }, addrs.join(' ')) : null);
}

function renderEndpoints(devices) {
  const dl = clear($('endpoints'));
  const seen = new Set();
  const add = (value, label) => {
    if (seen.has(value)) return;
    seen.add(value);
    dl.appendChild(h('option', { value, label }));
  };
  add('internet', 'Any address outside the estate');
  for (const d of devices) {
    add(`device:${d.name}`, `The device ${d.name} itself`);
    for (const i of d.interfaces) {
      const [name, ...addrs] = i.split(' ');
      for (const a of addrs) {
        const ip = a.split('/')[0];
        if (!ip.startsWith('fe80:') && !ip.startsWith('127.') && ip !== '::1') add(ip, `${d.name} ${name}`);
      }
    }
  }
}

function renderSampleInfo() {
  const box = clear($('sample-info'));
  const examples = clear($('examples-list'));
  const show = usingSample && sampleInfo;
  box.hidden = !show;
  $('examples').hidden = !show || sampleInfo.questions.length === 0;
  if (!show) return;
  box.appendChild(h('p', null, h('strong', null, sampleInfo.name), ' — ', sampleInfo.description));
  for (const q of sampleInfo.questions) {
    const spec = `${q.from} → ${q.to} ${q.proto}${q.port ? `/${q.port}` : ''}`;
    examples.appendChild(
      h(
        'li',
        null,
        h(
          'button',
          { type: 'button', class: 'example', onclick: () => askExample(q) },
          h('span', { class: 'example-label' }, String(q.label ?? spec)),
          h('code', { class: 'example-spec' }, spec),
        ),
      ),
    );
  }
}

function askExample(q) {
  $('q-from').value = String(q.from ?? '');
  $('q-to').value = String(q.to ?? '');
  $('q-proto').value = String(q.proto ?? 'any');
  $('q-port').value = q.port ? String(q.port) : '';
  runQuery();
}

// ---------------------------------------------------------------------------------------------
// Queries and their answers.

const VERDICT_TEXT = {
  allowed: 'A new connection is established and its replies return.',
  denied: 'No such connection can be established.',
  possibly: 'The answer depends on something Portolan does not model; see what it depends on below.',
};

async function runQuery() {
  const q = {
    from: $('q-from').value.trim(),
    to: $('q-to').value.trim(),
    proto: $('q-proto').value,
    port: $('q-port').value.trim(),
  };
  const out = clear($('result'));
  $('result-card').hidden = false;
  if (!q.from || !q.to) {
    out.appendChild(notice('error', 'Say where the connection comes from and where it goes.', 'Both "From" and "To" are needed: an IP address, a CIDR, "internet" or device:NAME.'));
    (q.from ? $('q-to') : $('q-from')).focus();
    return;
  }
  const question = `${q.from} → ${q.to} ${q.proto}${q.port ? `/${q.port}` : ''}`;
  out.appendChild(h('p', { class: 'working' }, `Checking ${question}…`));
  $('query-button').disabled = true;
  try {
    const { result, ms } = await call('query', q);
    clear(out).appendChild(renderQuery(result, ms));
  } catch (e) {
    clear(out).appendChild(notice('error', `Portolan could not answer ${question}`, e.message));
  } finally {
    $('query-button').disabled = false;
  }
  const reduce = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  $('result-card').scrollIntoView({ block: 'nearest', behavior: reduce ? 'auto' : 'smooth' });
}

function notice(kind, title, message) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : null }, h('p', { class: 'notice-title' }, title), message ? h('p', { class: 'notice-body' }, message) : null);
}

function verdictBadge(v, big = false) {
  return h('span', { class: `verdict verdict-${v}${big ? ' big' : ''}` }, v);
}

function renderQuery(r, ms) {
  const port = r.port ? `/${r.port}` : '';
  const wrap = h(
    'div',
    { class: 'answer' },
    h(
      'div',
      { class: 'answer-head' },
      verdictBadge(r.verdict, true),
      h('div', null, h('p', { class: 'question' }, `${r.from} → ${r.to} ${r.proto}${port}`), h('p', { class: 'muted' }, summaryText(r), ` (${formatMs(ms)})`)),
    ),
  );
  if (r.assumptions && r.assumptions.length) {
    wrap.appendChild(h('div', { class: 'assumptions' }, h('p', { class: 'label' }, 'Assumptions'), h('ul', null, r.assumptions.map((a) => h('li', null, a)))));
  }
  r.results.forEach((res, i) => wrap.appendChild(renderResult(res, i, r.results.length)));
  return wrap;
}

function summaryText(r) {
  const kinds = new Set(r.results.map((x) => x.verdict));
  if (kinds.size > 1) {
    const parts = ['allowed', 'possibly', 'denied'].filter((v) => kinds.has(v));
    return `Not the same for every packet of this question: ${parts.join(', ')} for different classes, each explained below.`;
  }
  return VERDICT_TEXT[r.verdict] ?? '';
}

function witnessText(w) {
  const sport = w.sport != null ? `:${w.sport}` : '';
  const port = w.port != null ? (w.proto === 'icmp' || w.proto === 'icmpv6' ? ` type ${w.port}` : `:${w.port}`) : '';
  return `${w.proto} ${w.src}${sport} → ${w.dst}${port}`;
}

function renderResult(res, i, count) {
  const el = h(
    'article',
    { class: `flow flow-${res.verdict}` },
    h(
      'header',
      { class: 'flow-head' },
      verdictBadge(res.verdict),
      h('span', { class: 'covers' }, count > 1 ? `${i + 1}. ${res.covers}` : res.covers),
    ),
    h('p', { class: 'reason' }, res.reason),
    h('p', { class: 'witness muted small' }, 'For example ', h('code', null, witnessText(res.witness))),
  );
  if (res.uncertain && res.uncertain.length) {
    el.appendChild(h('div', { class: 'uncertain' }, h('p', { class: 'label' }, 'Depends on'), h('ul', null, res.uncertain.map((u) => h('li', null, u)))));
  }
  if (res.hops && res.hops.length) {
    el.appendChild(h('ol', { class: 'hops' }, res.hops.map((hop, n) => renderHop(hop, n))));
  }
  return el;
}

const sameRule = (a, b) => a && b && a.file === b.file && a.line === b.line && a.ruleset === b.ruleset && a.text === b.text;

function renderHop(hop, n) {
  const ifaces = `${hop.in_iface ?? 'local'} → ${hop.out_iface ?? (hop.path === 'input' ? 'local' : '—')}`;
  const li = h(
    'li',
    { class: `hop dir-${hop.direction}` },
    h(
      'div',
      { class: 'hop-head' },
      h('span', { class: 'step' }, String(n + 1)),
      h('span', { class: 'hop-device' }, hop.device),
      h('span', { class: 'tag' }, hop.direction === 'reply' ? 'reply' : 'first packet'),
      h('span', { class: 'hop-ifaces' }, ifaces),
      h('span', { class: 'tag subtle' }, hop.path),
      h('span', { class: `outcome outcome-${outcomeClass(hop.outcome)}` }, hop.outcome),
    ),
  );
  const rows = [];
  for (const d of hop.decisions || []) rows.push(ruleRow(d, sameRule(d, hop.rule)));
  if (hop.rule && !(hop.decisions || []).some((d) => sameRule(d, hop.rule))) rows.push(ruleRow(hop.rule, true));
  if (rows.length) li.appendChild(h('ul', { class: 'decisions' }, rows));
  if (hop.nat && hop.nat.length) {
    li.appendChild(
      h(
        'ul',
        { class: 'nat' },
        hop.nat.map((n) =>
          h('li', null, h('span', { class: 'tag nat-kind' }, n.kind), h('code', null, `${n.from} → ${n.to}`), n.rule ? [' by ', ruleLocation(n.rule)] : null),
        ),
      ),
    );
  }
  return li;
}

function outcomeClass(outcome) {
  if (/^(accepted|delivered|forwarded)/.test(outcome)) return 'good';
  if (/^(dropped|rejected|no route|denied)/.test(outcome)) return 'bad';
  return 'unsure';
}

function actionClass(action) {
  if (/accept|allow|return/.test(action)) return 'good';
  if (/drop|reject|deny/.test(action)) return 'bad';
  if (/nat|masquerade|redirect/.test(action)) return 'nat';
  return 'neutral';
}

function ruleRow(rule, deciding) {
  return h(
    'li',
    { class: deciding ? 'decision deciding' : 'decision' },
    h('span', { class: `action action-${actionClass(rule.action)}` }, rule.action),
    h('span', { class: 'ruleset' }, rule.ruleset),
    h('code', { class: 'rule-text' }, unbrokenWords(rule.text)),
    ruleLocation(rule),
  );
}

// Rule text wraps between words only: `--dport` must not break after its first hyphen.
function unbrokenWords(text) {
  return text.split(/(\s+)/).map((part, i) => (i % 2 === 1 || part === '' ? part : h('span', { class: 'word' }, part)));
}

function ruleLocation(rule) {
  if (!rule.file) return h('span', { class: 'loc muted' }, 'built-in default');
  if (!rule.line) return h('span', { class: 'loc muted' }, rule.file);
  return sourceLink(rule.file, rule.line, `${rule.file}:${rule.line}`);
}

// ---------------------------------------------------------------------------------------------
// Source viewer.

function sourceLink(path, line, label, fileIndex) {
  const index = fileIndex ?? pathIndex.get(path);
  if (index === undefined) return h('span', { class: 'loc' }, label);
  return h('button', { type: 'button', class: 'loc linklike', title: `Show ${path} around line ${line}`, onclick: () => showSource(path, index, line) }, label);
}

async function showSource(path, file, line) {
  const dialog = $('source-dialog');
  $('source-title').textContent = `${path}, line ${line}`;
  const body = clear($('source-body'));
  try {
    const { result } = await call('source', { file, line, context: 6 });
    for (const l of result) {
      body.appendChild(
        h('span', { class: l.line === line ? 'src-line current' : 'src-line' }, h('span', { class: 'ln', 'aria-hidden': 'true' }, String(l.line)), l.text),
      );
    }
    if (result.length === 0) body.appendChild(document.createTextNode('This line is not in the file.'));
  } catch (e) {
    body.appendChild(document.createTextNode(e.message));
  }
  if (!dialog.open) dialog.showModal();
  const current = body.querySelector('.current');
  if (current) current.scrollIntoView({ block: 'center' });
}

$('source-close').addEventListener('click', () => $('source-dialog').close());
$('source-dialog').addEventListener('click', (ev) => {
  if (ev.target === ev.currentTarget) ev.currentTarget.close();
});

// ---------------------------------------------------------------------------------------------
// Wiring.

$('sample-button').addEventListener('click', loadSample);

$('file-input').addEventListener('change', (ev) => {
  const input = ev.currentTarget;
  const files = [...input.files];
  input.value = '';
  if (files.length) loadFiles(Promise.all(files.map((f) => readFile(f))));
});

$('query-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  runQuery();
});

// The whole window accepts drops, so a file that misses the zone is loaded instead of opened.
const zone = $('dropzone');
let dragDepth = 0;
window.addEventListener('dragenter', (ev) => {
  if (![...(ev.dataTransfer?.types || [])].includes('Files')) return;
  ev.preventDefault();
  dragDepth++;
  zone.classList.add('dragging');
});
window.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) zone.classList.remove('dragging');
});
window.addEventListener('dragover', (ev) => {
  ev.preventDefault();
  if (ev.dataTransfer) ev.dataTransfer.dropEffect = 'copy';
});
window.addEventListener('drop', (ev) => {
  ev.preventDefault();
  dragDepth = 0;
  zone.classList.remove('dragging');
  if (ev.dataTransfer && ev.dataTransfer.files.length && !$('sample-button').disabled) loadFiles(filesFromDrop(ev.dataTransfer));
});
