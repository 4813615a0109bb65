// The page's UI thread: it only presents. Files are read here (asynchronously) and handed to the
// worker, which owns the WebAssembly module and does all parsing and analysis.
// Every piece of text that comes from an input goes into the page as a text node, never as HTML.

import { append, clear, formatMs, h, plural } from './dom.js';
import { createMap } from './map.js';
import { createMatrix } from './matrix.js';
import { adoptSample, decorateInputs, heldInputs, installFiles, loadGiven, loadHeld } from './files.js';
import { installSession, openIfSession, openSession, saveSession } from './session.js';
import { installWhatif, ruleActions, serviceAction, whatifRefresh, whatifReset } from './whatif.js';
import { installWorkshop, renderWorkshop } from './workshop.js';

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// The worker and its request/response protocol.

// The worker's code is in the page itself (scripts/build-www.sh bundles www/worker.js into
// index.html), and every worker starts from a Blob of it. Cancel (the progress bar) ends the
// worker and starts another one, which gets the first worker's compiled module and samples (the
// kit) by message: replacing the worker makes no request, however often it happens. The
// single-file build (scripts/build-single.sh) also embeds the module and the samples' files.
const workerCode = document.getElementById('portolan-worker');
const embedded = document.getElementById('portolan-embed');
const workerUrl = workerCode ? URL.createObjectURL(new Blob([workerCode.textContent], { type: 'text/javascript' })) : null;
const pending = new Map(); // id → {resolve, reject, type, t0}
let nextId = 1;
let worker = null;
let kit = null; // {module, samples} from the first worker

function startWorker() {
  if (!workerUrl) {
    onFatal('this page was not built (scripts/build-www.sh puts the analyzer into it)');
    return;
  }
  const first = kit === null;
  const w = new Worker(workerUrl, { name: first ? 'analyzer' : 'analyzer (restarted)' });
  if (first) w.postMessage({ type: 'boot', base: new URL('./', document.baseURI).href, embed: embedded ? embedded.textContent : null });
  else w.postMessage({ type: 'kit', module: kit.module, samples: kit.samples });
  w.onmessage = (ev) => {
    const m = ev.data || {};
    if (m.type === 'ready') {
      if (first) {
        kit = m.kit ?? null;
        onReady(m.samples);
      }
      return;
    }
    if (m.type === 'fatal') return onFatal(m.error);
    if (m.type === 'progress') {
      const p = pending.get(m.id);
      if (p) {
        p.detail = m.name === null ? `assembling the network from ${plural(m.total, 'file')}` : `reading ${(m.done + 1).toLocaleString('en')} of ${m.total.toLocaleString('en')}, ${m.name}`;
        tickProgress();
      }
      return;
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    showProgress();
    if (m.ok) p.resolve({ result: m.result, ms: m.ms });
    else p.reject(new Error(m.error));
  };
  w.onerror = (ev) => {
    ev.preventDefault();
    onFatal(ev.message || 'the analyzer could not be loaded');
  };
  worker = w;
}
startWorker();

/** The error of every request the Cancel button stopped: shown once, by the button itself. */
class Cancelled extends Error {
  constructor() {
    super('Cancelled: the analyzer was stopped before it answered.');
    this.name = 'Cancelled';
  }
}
const isCancelled = (e) => e instanceof Cancelled;

function call(type, payload = {}, transfer = []) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    if (!worker) return reject(new Error('the analyzer is not running'));
    pending.set(id, { resolve, reject, type, t0: performance.now() });
    showProgress();
    worker.postMessage({ id, type, ...payload }, transfer);
  });
}

// What the worker is doing, for the progress bar: the oldest request not answered yet.
const DOING = {
  load: 'Loading the files',
  loadSample: 'Loading the sample network',
  unzip: 'Opening the archive',
  sampleFiles: 'Loading the sample network',
  analyze: 'Analysing',
  export: 'Writing the report',
  responsibilities: 'Sorting the actions by owner',
  figures: 'Counting the figures',
  whatif: 'Trying the what-if changes',
  map: 'Drawing the map',
  matrix: 'Working out the service matrix',
  query: 'Checking the connection',
  source: 'Reading the source',
};
const PROGRESS_AFTER_MS = 300; // quicker answers show no bar
let progressTimer = null;

function showProgress() {
  const busy = pending.size > 0;
  document.body.classList.toggle('busy', busy);
  if (!busy) {
    clearInterval(progressTimer);
    progressTimer = null;
    $('progress').hidden = true;
    return;
  }
  if (!progressTimer) progressTimer = setInterval(tickProgress, 100);
  tickProgress();
}

function tickProgress() {
  const oldest = [...pending.values()].reduce((a, b) => (b.t0 < a.t0 ? b : a), { t0: Infinity });
  if (!Number.isFinite(oldest.t0)) return;
  const elapsed = performance.now() - oldest.t0;
  const bar = $('progress');
  if (elapsed < PROGRESS_AFTER_MS) return;
  $('progress-what').textContent = `${DOING[oldest.type] ?? 'Working'}${oldest.detail ? `: ${oldest.detail}` : ''}…`;
  $('progress-time').textContent = `${(elapsed / 1000).toFixed(1)} s`;
  bar.hidden = false;
}

// Cancel: the worker is ended (whatever it computes is lost), every request waiting for it fails
// with Cancelled, and a new worker gets the inputs the page shows, so the page stays usable with
// the results it has (marked as not updated where they were being redone).
let restarting = null;

async function cancelWork() {
  if (pending.size === 0 || restarting) return;
  const what = [...pending.values()].reduce((a, b) => (b.t0 < a.t0 ? b : a)).type;
  worker.terminate();
  const waiting = [...pending.values()];
  pending.clear();
  startWorker();
  showProgress();
  for (const p of waiting) p.reject(new Cancelled());
  setStatus(`${DOING[what] ?? 'The work'} was cancelled. The results shown are the earlier ones.`, 'cancelled');
  // Posted at once: the new worker answers in order, so a request made meanwhile comes after it.
  restarting = (async () => {
    if (!shownInputs) return;
    try {
      // The files held go back to those shown, too (a cancelled load had replaced them).
      await loadHeld(shownInputs.files, shownInputs.problems);
    } catch (e) {
      if (!isCancelled(e)) setStatus(`The files could not be loaded again after cancelling: ${e.message}`, 'error');
    }
  })();
  await restarting;
  restarting = null;
}

// ---------------------------------------------------------------------------------------------
// State.

let samples = []; // [{id, name, description, files, questions}] from samples/index.json
let report = null; // the current ParseReport
let pathIndex = new Map(); // input path → index, for the source viewer
let pathsLongestFirst = []; // [path, index], to find "path:line:" at the start of a note
let usingSample = null; // the sample loaded, or null for the user's own files
let loadGen = 0; // bumped on every load: answers about earlier inputs are dropped
let shownInputs = null; // the inputs of the report shown ({files, problems}, as files.js holds them), given again to a new worker

function setStatus(text, kind = '') {
  const s = $('status');
  s.className = `status ${kind}`.trim();
  s.textContent = text;
}

function onReady(list) {
  samples = Array.isArray(list) ? list : [];
  const select = clear($('sample-select'));
  for (const s of samples) select.appendChild(h('option', { value: s.id, title: s.description }, s.name));
  select.disabled = samples.length < 2;
  $('sample-button').disabled = samples.length === 0;
  setStatus(samples.length ? 'Ready. Drop files, choose them, or load a sample network.' : 'Ready. Drop files or choose them.');
}

function onFatal(error) {
  $('sample-button').disabled = true;
  $('sample-select').disabled = true;
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
  if (await openIfSession(files)) return;
  const bytes = files.reduce((n, f) => n + f.bytes.byteLength, 0);
  setStatus(`Parsing ${plural(files.length, 'file')} (${formatBytes(bytes)})…`, 'working');
  try {
    const { result, ms } = await loadGiven(files); // zip archives opened; the files kept for remove, replace and sessions
    usingSample = null;
    showReport(result, ms);
  } catch (e) {
    if (!isCancelled(e)) setStatus(`Could not load the files: ${e.message}`, 'error');
  }
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

async function loadSample() {
  const sample = samples.find((s) => s.id === $('sample-select').value) ?? samples[0];
  if (!sample) return;
  setStatus(`Parsing the sample network ${sample.name}…`, 'working');
  try {
    const { result, ms } = await call('loadSample', { sample: sample.id });
    await adoptSample(sample.id);
    usingSample = sample;
    showReport(result, ms);
  } catch (e) {
    if (!isCancelled(e)) setStatus(`Could not load the sample: ${e.message}`, 'error');
  }
}

// ---------------------------------------------------------------------------------------------
// The parse report: files table and devices.

const STATUS_LABEL = { ok: 'ok', partial: 'partial', failed: 'failed', unsupported: 'unsupported' };

function showReport(r, ms, origins = '') {
  report = r;
  shownInputs = heldInputs();
  document.body.classList.remove('stale');
  loadGen++;
  pathIndex = new Map();
  r.inputs.forEach((inp, i) => {
    if (!pathIndex.has(inp.path)) pathIndex.set(inp.path, i);
  });
  pathsLongestFirst = [...pathIndex].sort((a, b) => b[0].length - a[0].length);

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
  $('views-nav').hidden = false;
  networkMap.reset();
  serviceMatrix.reset(r);
  // What the Internet (and any origin a manifest declares) reaches is the first question for
  // any estate: answer it right away.
  $('origins').value = origins;
  $('session-save').disabled = false;
  whatifReset();
  $('exposure-filter').value = '';
  $('certainty-filter').value = '';
  exposureView.filter = '';
  exposureView.certainty = '';
  exposureView.sort = null;
  $('findings-filter').value = '';
  findingsView.filter = '';
  findingsView.severity = '';
  findingsView.sort = null;
  runAnalysis();
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
        h('tr', { id: diagId, class: 'diag-row', hidden: true }, h('td', { colspan: '7' }, renderDiagnostics(inp, i))),
      );
    }
  });
  decorateInputs(body);
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
  const sample = usingSample;
  renderWorkshop(sample);
  box.hidden = !sample;
  $('examples').hidden = !sample || sample.questions.length === 0;
  if (!sample) return;
  box.appendChild(h('p', null, h('strong', null, sample.name), ' — ', sample.description));
  for (const q of sample.questions) {
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
    if (isCancelled(e)) {
      clear(out);
      $('result-card').hidden = true;
      return;
    }
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
    el.appendChild(h('div', { class: 'uncertain' }, h('p', { class: 'label' }, 'Depends on'), h('ul', null, res.uncertain.map((u) => h('li', null, locatedText(u))))));
  }
  if (res.hops && res.hops.length) el.appendChild(hopList(res.hops));
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
    ruleActions(rule),
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

// A note that starts with "path:line:" (uncertain constructs, scan facts) gets its location as a
// link to the source viewer; the rest stays text.
function locatedText(note) {
  for (const [path, index] of pathsLongestFirst) {
    if (!note.startsWith(`${path}:`)) continue;
    const m = /^:(\d+):?\s*/.exec(note.slice(path.length));
    if (!m) continue;
    const line = Number(m[1]);
    return [sourceLink(path, line, `${path}:${line}`, index), ' ', h('span', { class: 'note-text' }, note.slice(path.length + m[0].length))];
  }
  return [note];
}

// ---------------------------------------------------------------------------------------------
// Tables: sortable headers and rows that open a detail row under them, shared by the exposure,
// attack path and findings tables.

function compare(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The header row of a table. Columns with `sort` get a button that sorts by them (`first` is the
 * direction of the first click: -1 for "most first"); `sort` is the view's {key, dir} or null.
 * `toggleLabel` names the column of the rows' toggle buttons, if any.
 */
function sortableHead(columns, sort, onSort, toggleLabel) {
  const cells = toggleLabel ? [h('th', { scope: 'col', class: 'col-toggle' }, h('span', { class: 'visually-hidden' }, toggleLabel))] : [];
  for (const c of columns) {
    if (!c.sort) {
      cells.push(h('th', { scope: 'col', class: `col-${c.key}` }, c.label));
      continue;
    }
    const active = sort && sort.key === c.key;
    const dir = active ? sort.dir : 0;
    const next = active ? -dir : (c.first ?? 1);
    cells.push(
      h(
        'th',
        { scope: 'col', class: `col-${c.key}`, 'aria-sort': active ? (dir > 0 ? 'ascending' : 'descending') : null },
        h(
          'button',
          {
            type: 'button',
            class: `sort${active ? ' active' : ''}`,
            'data-key': c.key,
            title: `Sort by ${c.label.toLowerCase()}${next < 0 ? ', descending' : ''}`,
            onclick: () => onSort(c.key),
          },
          c.label,
          h('span', { class: `sort-icon${active ? (dir > 0 ? ' asc' : ' desc') : ''}`, 'aria-hidden': 'true' }),
        ),
      ),
    );
  }
  return h('thead', null, h('tr', null, cells));
}

/** Sort a view by `key` (the same key again reverses it), render it, keep the focus on the header. */
function sortView(view, columns, key, render, container) {
  const s = view.sort;
  const column = columns.find((c) => c.key === key);
  view.sort = s && s.key === key ? { key, dir: -s.dir } : { key, dir: column?.first ?? 1 };
  render();
  const button = container.querySelector(`th button.sort[data-key="${key}"]`);
  if (button) button.focus();
}

/** Items `{item, i}` in the order of `sort` (ties keep the report's order), or as they are. */
function sortItems(items, sort, sorts) {
  if (sort && sorts[sort.key]) items.sort((x, y) => sort.dir * sorts[sort.key](x.item, y.item) || x.i - y.i);
  return items;
}

function toggleButton(open, controls, label, onToggle, className = 'toggle row-toggle') {
  return h(
    'button',
    {
      type: 'button',
      class: className,
      'aria-expanded': String(open),
      'aria-controls': controls,
      'aria-label': label,
      onclick: (ev) => {
        ev.stopPropagation();
        onToggle();
      },
    },
    h('span', { class: 'chev', 'aria-hidden': 'true' }),
  );
}

/**
 * A table row with a toggle button that opens a detail row under it; a click anywhere else on the
 * row does the same. `expanded` (a Set of keys) keeps rows open across renders. Returns the row,
 * and its detail row when it is open.
 */
function expandableRow({ key, expanded, rowClass, detailClass, detailId, label, attrs = {}, colspan, detail, cells }) {
  const makeDetail = () => h('tr', { id: detailId, class: `xdetail ${detailClass}` }, h('td', { colspan: String(colspan) }, detail()));
  let row = null;
  let toggle = null;
  const flip = () => {
    if (expanded.has(key)) expanded.delete(key);
    else expanded.add(key);
    const open = expanded.has(key);
    row.classList.toggle('open', open);
    toggle.setAttribute('aria-expanded', String(open));
    const next = row.nextElementSibling;
    if (next && next.id === detailId) next.remove();
    if (open) row.after(makeDetail());
  };
  const open = expanded.has(key);
  toggle = toggleButton(open, detailId, label, flip);
  row = h('tr', { ...attrs, class: `xrow ${rowClass}${open ? ' open' : ''}` }, h('td', { class: 'col-toggle' }, toggle), cells);
  row.addEventListener('click', (ev) => {
    if (ev.target.closest('button, a, input, select')) return;
    if (String(window.getSelection() || '') !== '') return; // selecting text, not opening
    flip();
  });
  return open ? [row, makeDetail()] : [row];
}

/**
 * A button that shows and hides the region it controls (built on first opening); `expanded`
 * (a Set of keys) keeps it open across renders. Returns [button, region].
 */
function disclosure({ key, expanded, id, label, content, className = '' }) {
  const region = h('div', { id, class: `disclosed ${className}`.trim(), hidden: !expanded.has(key) });
  const fill = () => {
    if (!region.firstChild) append(region, [content()]);
  };
  if (expanded.has(key)) fill();
  const button = h(
    'button',
    {
      type: 'button',
      class: 'toggle disclose',
      'aria-expanded': String(expanded.has(key)),
      'aria-controls': id,
      onclick: () => {
        if (expanded.has(key)) expanded.delete(key);
        else expanded.add(key);
        const open = expanded.has(key);
        if (open) fill();
        region.hidden = !open;
        button.setAttribute('aria-expanded', String(open));
      },
    },
    h('span', { class: 'chev', 'aria-hidden': 'true' }),
    label,
  );
  return [button, region];
}

// ---------------------------------------------------------------------------------------------
// Exposure: what each origin reaches, as filterable, sortable tables whose rows open the path.

const MAX_ROWS = 200; // rows per origin before "Show all"

const exposureView = {
  filter: '',
  certainty: '',
  sort: null, // {key, dir: 1 | -1}; null keeps the analysis order (certainty, then address)
  expanded: new Set(), // indexes into report.exposures
  showAll: new Set(), // origin names
};
let analysis = null; // {report: AnalyzeReport, origins: [string], ms}
let analysisSeq = 0;

function parseOrigins(text) {
  const seen = new Set();
  return text
    .split(/[\s,]+/)
    .filter((o) => o !== '' && !seen.has(o) && seen.add(o));
}

function setExportsDisabled(disabled) {
  for (const b of document.querySelectorAll('button[data-format]')) b.disabled = disabled;
}

async function runAnalysis() {
  const origins = parseOrigins($('origins').value);
  const gen = loadGen;
  const seq = ++analysisSeq;
  $('exposure-card').hidden = false;
  const out = clear($('exposure'));
  const names = origins.length ? origins.join(', ') : 'each origin';
  out.appendChild(h('p', { class: 'working' }, `Analysing what ${names} can reach…`));
  $('exposure-shown').textContent = '';
  $('analyze-button').disabled = true;
  setExportsDisabled(true);
  // The attack paths, findings, policy and responsibilities come from the same analysis.
  $('attack-card').hidden = false;
  $('findings-card').hidden = false;
  $('policy-card').hidden = false;
  $('roles-card').hidden = false;
  $('overview-card').hidden = false;
  $('overview-stale').hidden = true;
  clear($('overview-figures')).appendChild(h('p', { class: 'working' }, `Analysing what ${names} can reach…`));
  clear($('overview-summary'));
  clear($('attack')).appendChild(h('p', { class: 'working' }, `Looking for attack paths from ${names}…`));
  clear($('findings')).appendChild(h('p', { class: 'working' }, 'Checking the rules…'));
  clear($('policy')).appendChild(h('p', { class: 'working' }, 'Checking the policy…'));
  clear($('policy-summary'));
  clear($('roles')).appendChild(h('p', { class: 'working' }, 'Sorting the actions by owner…'));
  clear($('summary-doc'));
  $('print-summary').disabled = true;
  document.body.classList.remove('has-summary');
  for (const id of ['attack-count', 'findings-count', 'policy-count', 'roles-count', 'nav-exposure', 'nav-attack', 'nav-findings', 'nav-policy', 'nav-roles', 'findings-shown']) $(id).textContent = '';
  clear($('findings-summary'));
  $('findings-tools').hidden = true;
  try {
    const { result, ms } = await call('analyze', { origins });
    if (gen !== loadGen || seq !== analysisSeq) return;
    analysis = { report: result, origins, ms, gen };
    document.body.classList.remove('stale');
    // No origin given: show the ones analysed (internet and the manifest's).
    if (origins.length === 0) $('origins').value = result.origins.map((o) => o.name).join(', ');
    exposureView.expanded.clear();
    exposureView.showAll.clear();
    attackView.expanded.clear();
    attackView.steps.clear();
    findingsView.expanded.clear();
    findingsView.showAll = false;
    policyView.cell = null;
    policyView.expanded.clear();
    renderExposure();
    renderAttack();
    renderFindings();
    renderPolicy();
    renderOverview();
    networkMap.update(origins);
    setExportsDisabled(false);
    whatifRefresh();
    loadRoles(gen, seq);
  } catch (e) {
    if (gen !== loadGen || seq !== analysisSeq) return;
    if (isCancelled(e)) {
      keepEarlierAnalysis(origins);
      return;
    }
    analysis = null;
    $('exposure-tools').hidden = true;
    $('exposure-count').textContent = '';
    clear(out).appendChild(notice('error', `Portolan could not analyse what ${names} can reach`, e.message));
    clear($('overview-figures')).appendChild(notice('error', 'No overview', 'The analysis failed: see Exposure below.'));
    clear($('attack')).appendChild(notice('error', 'No attack paths', 'The analysis failed: see Exposure above.'));
    clear($('findings')).appendChild(notice('error', 'No findings', 'The analysis failed: see Exposure above.'));
    clear($('policy')).appendChild(notice('error', 'The policy was not checked', 'The analysis failed: see Exposure above.'));
    clear($('roles')).appendChild(notice('error', 'No responsibilities', 'The analysis failed: see Exposure above.'));
    whatifRefresh();
  } finally {
    if (seq === analysisSeq) $('analyze-button').disabled = false;
  }
}

// The earlier results stay when a new analysis was cancelled, marked as not updated.
const originsText = (list) => (list.length === 0 ? 'each origin' : list.length > 4 ? `${list.length} origins` : list.join(', '));

function keepEarlierAnalysis(origins) {
  document.body.classList.add('stale');
  const earlier = analysis && analysis.gen === loadGen;
  const note = $('overview-stale');
  note.hidden = false;
  note.textContent = earlier
    ? `Not updated: the analysis of ${originsText(origins)} was cancelled. The results below are the earlier ones, for ${originsText(analysis.report.origins.map((o) => o.name))}.`
    : `Not analysed: the analysis of ${originsText(origins)} was cancelled. Press Analyse to try again.`;
  if (!earlier) {
    for (const id of ['exposure', 'attack', 'findings', 'policy', 'roles']) clear($(id)).appendChild(h('p', { class: 'muted not-updated' }, 'Not analysed: cancelled.'));
    clear($('overview-figures')).appendChild(h('p', { class: 'muted not-updated' }, 'Not analysed: cancelled.'));
    return;
  }
  renderExposure();
  renderAttack();
  renderFindings();
  renderPolicy();
  setExportsDisabled(false);
  if (rolesView.map && rolesView.gen === loadGen) {
    renderRoles();
    renderSummary();
    renderOverview();
  } else {
    clear($('roles')).appendChild(h('p', { class: 'muted not-updated' }, 'Not worked out: cancelled.'));
  }
}

// ---------------------------------------------------------------------------------------------
// Overview: the answers first, every figure from the core's report and summary figures, each
// one a link to the view that explains it; beside them the management summary.

/**
 * Bring a view into sight and move the keyboard focus into it (to `focus`, or else to the view's
 * heading), so that the next Tab goes on from there rather than from the link that led there.
 */
function showView(id, focus = null) {
  const view = $(id);
  view.scrollIntoView({ block: 'start' });
  const target = focus ?? view.querySelector('h2') ?? view;
  if (target.tabIndex < 0 && !target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
  target.focus({ preventScroll: true });
}

function overviewLink(target, label, onClick) {
  return h(
    'a',
    {
      href: `#${target}`,
      class: 'ov-link',
      onclick: (ev) => {
        if (onClick) onClick();
        ev.preventDefault();
        showView(target);
      },
    },
    label,
  );
}

function overviewFigure(key, title, value, detail) {
  return h('div', { class: `ov-figure ov-${key}`, 'data-figure': key }, h('h3', { class: 'ov-title' }, title), h('p', { class: 'ov-value' }, value), detail ? h('div', { class: 'ov-detail small' }, detail) : null);
}

function renderOverview() {
  const out = clear($('overview-figures'));
  if (!analysis || !report) return;
  const r = analysis.report;
  const f = rolesView.figures && rolesView.gen === analysis.gen ? rolesView.figures : null;
  const internet = r.origins.some((o) => o.name === 'internet' && !o.error);
  const inet = r.exposures.filter((e) => e.origin === 'internet');
  const definite = inet.filter((e) => e.certainty === 'definite').length;
  const showExposure = (certainty) => () => {
    $('exposure-filter').value = '';
    exposureView.filter = '';
    $('certainty-filter').value = certainty;
    exposureView.certainty = certainty;
    renderExposure();
  };
  out.appendChild(
    overviewFigure(
      'internet',
      'Exposed to the Internet',
      internet ? overviewLink('exposure-card', plural(inet.length, 'service'), showExposure('')) : 'not analysed',
      internet
        ? [
            h('span', { class: 'ov-part' }, overviewLink('exposure-card', `${definite} definite`, showExposure('definite'))),
            ' · ',
            h('span', { class: 'ov-part' }, overviewLink('exposure-card', `${inet.length - definite} possible`, showExposure('possible'))),
            f ? [' · ', h('span', { class: 'ov-part ov-logins' }, `${plural(f.internet_logins, 'login or database', 'logins and databases')}`)] : null,
          ]
        : h('span', { class: 'muted' }, 'Add internet to the origins to see it.'),
    ),
  );

  const paths = r.attack_paths;
  const best = paths.reduce((a, p) => (a === null || p.likelihood > a.likelihood ? p : a), null);
  out.appendChild(
    overviewFigure(
      'attack',
      'Attack paths to crown jewels',
      r.crown_jewels.length ? overviewLink('attack-card', plural(paths.length, 'path')) : 'no crown jewels named',
      best
        ? h(
            'p',
            { class: 'ov-path' },
            'Most likely: ',
            [best.origin, ...best.steps.map((st) => hostText(st.to, st.to_name))].join(' → '),
            ` (${percent(best.likelihood)}, ${best.certainty})`,
          )
        : r.crown_jewels.length
          ? h('p', { class: 'muted' }, 'No origin reaches a crown jewel.')
          : h('p', { class: 'muted' }, 'Name them in the manifest (crown_jewels) to see the paths to them.'),
    ),
  );

  const top = r.findings.slice(0, 3); // the core lists the most severe first
  out.appendChild(
    overviewFigure(
      'findings',
      'Top findings',
      overviewLink('findings-card', plural(r.findings.length, 'finding')),
      top.length
        ? h(
            'ol',
            { class: 'ov-top' },
            top.map((x) =>
              h(
                'li',
                null,
                severityBadge(x.severity),
                ' ',
                overviewLink('findings-card', x.code, () => {
                  $('findings-filter').value = x.code;
                  $('findings-filter').dispatchEvent(new Event('input'));
                }),
                ' ',
                h('span', { class: 'ov-loc' }, x.file ? `${x.file}${x.line ? `:${x.line}` : ''}` : x.device),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'Nothing to report.'),
    ),
  );

  const counted = report.inputs.reduce((n, i) => n + Math.max(0, i.lines.total - i.lines.skipped), 0);
  const understood = report.inputs.reduce((n, i) => n + Math.max(0, i.lines.total - i.lines.skipped - i.lines.unrecognized), 0);
  const pct = counted ? Math.floor((understood / counted) * 1000) / 10 : 100;
  out.appendChild(
    overviewFigure(
      'coverage',
      'Parse coverage',
      overviewLink('workspace', `${pct}% of lines recognised`),
      h('p', null, `${plural(report.inputs.length, 'file')} · ${plural(report.devices.length, 'device')} · ${understood} of ${counted} lines`),
    ),
  );
  if (f && f.violations) out.appendChild(overviewFigure('policy', 'Policy', overviewLink('policy-card', plural(f.violations, 'violation')), null));
  $('overview-card').hidden = false;
}

const serviceText = (e) => (e.ports ? `${e.proto}/${e.ports}` : e.proto);

// Addresses sort by value: IPv4 before IPv6, names and descriptions last.
function addressKey(text) {
  const first = text.split(/[\s,/-]/)[0];
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(first);
  if (v4) return `4${v4.slice(1).map((x) => Number(x).toString(16).padStart(2, '0')).join('')}`;
  if (/^[0-9a-f:]+$/i.test(first) && first.includes(':')) {
    const [head, tail = null] = first.split('::');
    const a = head ? head.split(':') : [];
    const b = tail ? tail.split(':') : [];
    const groups = tail === null ? a : [...a, ...Array(Math.max(0, 8 - a.length - b.length)).fill('0'), ...b];
    return `6${groups.map((g) => g.padStart(4, '0')).join('')}`;
  }
  return `z${text}`;
}

const firstPort = (ports) => (ports === 'any' ? 0 : ports === '' ? -1 : parseInt(ports, 10) || 0);

const SORTS = {
  dst: (a, b) => compare(addressKey(a.ip), addressKey(b.ip)) || compare(a.host ?? '', b.host ?? ''),
  service: (a, b) => compare(a.proto, b.proto) || firstPort(a.ports) - firstPort(b.ports) || compare(a.ports, b.ports),
  certainty: (a, b) => compare(a.certainty, b.certainty),
  scans: (a, b) => compare(a.service ? 0 : 1, b.service ? 0 : 1) || compare(a.service ?? '', b.service ?? ''),
  owner: (a, b) => compare(a.owner, b.owner),
};

const COLUMNS = [
  { key: 'dst', label: 'Destination', sort: true },
  { key: 'service', label: 'Service', sort: true },
  { key: 'certainty', label: 'Certainty', sort: true },
  { key: 'scans', label: 'Seen by scans', sort: true },
  { key: 'owner', label: 'Owner', sort: true },
];

// Where a port forward sends the connection: the destination translations of the first packet.
function forwardedTo(e) {
  return (e.hops || [])
    .filter((hop) => hop.direction === 'forward')
    .flatMap((hop) => hop.nat || [])
    .filter((n) => n.kind === 'dnat' || n.kind === 'redirect')
    .map((n) => n.to);
}

function searchText(e) {
  return [e.ip, e.host, e.from, serviceText(e), ...forwardedTo(e), e.certainty, e.service, e.owner, ...(e.scan || [])]
    .filter(Boolean)
    .join(' ')
    .toLowerCase();
}

function matches(e) {
  if (exposureView.certainty && e.certainty !== exposureView.certainty) return false;
  const words = exposureView.filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = searchText(e);
  return words.every((w) => text.includes(w));
}

function renderExposure() {
  if (!analysis) return;
  const r = analysis.report;
  const out = clear($('exposure'));
  $('exposure-count').textContent = String(r.exposures.length);
  $('nav-exposure').textContent = String(r.exposures.length);
  $('exposure-tools').hidden = r.exposures.length === 0;
  const filtering = exposureView.filter.trim() !== '' || exposureView.certainty !== '';
  let shown = 0;
  for (const o of r.origins) {
    const all = [];
    r.exposures.forEach((e, i) => {
      if (e.origin === o.name) all.push({ item: e, i });
    });
    const rows = sortItems(
      all.filter((x) => matches(x.item)),
      exposureView.sort,
      SORTS,
    );
    shown += rows.length;
    out.appendChild(renderOrigin(o, all.length, rows, filtering));
  }
  const notes = renderExposureNotes(r);
  if (notes) out.appendChild(notes);
  const total = r.exposures.length;
  $('exposure-shown').textContent = filtering
    ? `${shown} of ${plural(total, 'exposure')} shown`
    : `${plural(total, 'exposure')} from ${plural(r.origins.length, 'origin')}, analysed in ${formatMs(analysis.ms)}`;
}

function renderOrigin(o, total, rows, filtering) {
  const id = `origin-${idPart(o.name)}`;
  const section = h(
    'section',
    { class: 'origin', 'aria-labelledby': id },
    h(
      'div',
      { class: 'origin-head' },
      h('h3', { id }, 'From ', h('span', { class: 'origin-name' }, o.name)),
      o.role ? h('span', { class: 'tag' }, o.role) : null,
      o.addresses && o.addresses !== o.name ? h('span', { class: 'muted small origin-addrs' }, o.addresses) : null,
      o.error ? null : h('span', { class: 'count' }, plural(total, 'exposure')),
    ),
  );
  if (o.error) {
    section.appendChild(notice('error', `${o.name} was not analysed`, o.error));
    return section;
  }
  if (total === 0) {
    section.appendChild(h('p', { class: 'empty-origin' }, `No exposure: per the configs, nothing in the estate is reachable from ${o.name}.`));
    return section;
  }
  if (rows.length === 0) {
    section.appendChild(h('p', { class: 'muted no-match' }, filtering ? 'No exposure from this origin matches the filter.' : 'No exposure.'));
    return section;
  }
  const limit = exposureView.showAll.has(o.name) ? rows.length : MAX_ROWS;
  const body = h('tbody', null, rows.slice(0, limit).map(({ item, i }) => exposureRow(item, i)));
  section.appendChild(
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'exposures' },
        h('caption', { class: 'visually-hidden' }, `Exposures from ${o.name}`),
        sortableHead(COLUMNS, exposureView.sort, (key) => sortView(exposureView, COLUMNS, key, renderExposure, $('exposure')), 'Path'),
        body,
      ),
    ),
  );
  if (rows.length > limit) {
    section.appendChild(
      h(
        'button',
        {
          type: 'button',
          class: 'button show-all',
          onclick: () => {
            exposureView.showAll.add(o.name);
            renderExposure();
          },
        },
        `Show all ${rows.length} (${rows.length - limit} more)`,
      ),
    );
  }
  return section;
}

function certaintyBadge(c, definiteTitle = 'Reachable whatever the unmodelled constructs do') {
  return h('span', { class: `cert cert-${c}`, title: c === 'possible' ? 'Depends on a construct Portolan does not model' : definiteTitle }, c);
}

function exposureRow(e, i) {
  return expandableRow({
    key: i,
    expanded: exposureView.expanded,
    rowClass: `exp-row cert-row-${e.certainty}`,
    detailClass: 'exp-detail',
    detailId: `exp-detail-${i}`,
    label: `Path from ${e.origin} to ${e.ip} ${serviceText(e)}`,
    attrs: { 'data-index': String(i) },
    colspan: COLUMNS.length + 1,
    detail: () => exposureDetail(e),
    cells: [
      h(
        'td',
        { class: 'dst' },
        h('span', { class: 'ip' }, e.ip),
        e.host ? h('span', { class: 'host' }, e.host) : null,
        forwardedTo(e).map((to) => h('span', { class: 'forwarded', title: 'The connection is translated to this address and port' }, `→ ${to}`)),
        e.from !== e.origin ? h('span', { class: 'only-from' }, `only from ${e.from}`) : null,
      ),
      h('td', { class: 'svc' }, h('code', null, serviceText(e))),
      h('td', null, certaintyBadge(e.certainty)),
      h(
        'td',
        { class: 'scans' },
        e.service ? h('span', { class: 'seen' }, e.service) : h('span', { class: 'muted' }, '—'),
        e.scan && e.scan.length ? h('span', { class: 'scan-flag', title: e.scan.join('\n') }, plural(e.scan.length, 'scan fact'), ' against the configs') : null,
      ),
      h('td', null, ownerBadge(e.owner)),
    ],
  });
}

function ownerBadge(owner) {
  return h('span', { class: `owner owner-${owner}` }, owner);
}

function uncertainBlock(uncertain, label) {
  return h(
    'div',
    { class: 'uncertain depends' },
    h('p', { class: 'label' }, label),
    uncertain && uncertain.length ? h('ul', null, uncertain.map((u) => h('li', null, locatedText(u)))) : h('p', { class: 'small' }, 'No construct was named.'),
  );
}

function exposureDetail(e) {
  const body = h(
    'div',
    { class: 'exp-detail-body' },
    h('p', { class: 'reason' }, e.reason),
    h('p', { class: 'witness muted small' }, 'For example ', h('code', null, witnessText(e.witness))),
  );
  if (e.from !== e.origin) body.appendChild(h('p', { class: 'small' }, `Only from ${e.from} within ${e.origin}.`));
  if (e.certainty === 'possible' || (e.uncertain && e.uncertain.length)) {
    body.appendChild(uncertainBlock(e.uncertain, 'Possible: depends on what Portolan does not model'));
  }
  if (e.service) body.appendChild(h('p', { class: 'small seen-line' }, h('span', { class: 'label inline' }, 'Seen by scans'), ' ', e.service));
  if (e.scan && e.scan.length) {
    body.appendChild(h('div', { class: 'scan-facts' }, h('p', { class: 'label' }, 'Scans vs configs'), h('ul', null, e.scan.map((f) => h('li', null, locatedText(f))))));
  }
  if (e.hops && e.hops.length) body.appendChild(hopList(e.hops));
  // A port forward's service listens where the forward sends it.
  const fwd = /^\[?([^\]]+?)\]?:(\d+)$/.exec(forwardedTo(e)[0] ?? '');
  append(body, [fwd ? serviceAction(fwd[1], e.proto, fwd[2]) : serviceAction(e.ip, e.proto, e.ports)]);
  return body;
}

function hopList(hops) {
  return h('ol', { class: 'hops' }, hops.map((hop, n) => renderHop(hop, n)));
}

function renderExposureNotes(r) {
  const parts = [];
  if (r.scan_notes && r.scan_notes.length) {
    parts.push(
      h(
        'div',
        { class: 'scan-notes' },
        h('h3', null, 'Scans vs configs'),
        h('p', { class: 'muted small' }, 'Open ports the scans saw that no origin reaches per the configs: the scan ran from elsewhere, or the configs are not what runs.'),
        h('ul', null, r.scan_notes.map((n) => h('li', null, locatedText(n)))),
      ),
    );
  }
  if (r.assumptions && r.assumptions.length) {
    parts.push(h('div', { class: 'assumptions' }, h('p', { class: 'label' }, 'Assumptions'), h('ul', null, r.assumptions.map((a) => h('li', null, a)))));
  }
  return parts.length ? h('div', { class: 'exposure-notes' }, parts) : null;
}

// ---------------------------------------------------------------------------------------------
// Attack paths: per origin and crown jewel, the ranked paths. A path opens into its steps
// (foothold → host, service, why it lets the attacker in) and a step into the network path of its
// connection, hop by hop. Then the choke points: the changes that cut every path, as recomputed.

const attackView = {
  expanded: new Set(), // indexes into report.attack_paths
  steps: new Set(), // "path:step" keys of the steps whose network path is shown
};

const ATTACK_COLUMNS = [
  { key: 'rank', label: 'Rank' },
  { key: 'steps', label: 'Steps' },
  { key: 'likelihood', label: 'Likelihood' },
  { key: 'certainty', label: 'Certainty' },
  { key: 'owner', label: 'Owner' },
];

// A likelihood (0–1) as a percentage: whole numbers from 10%, one decimal below.
function percent(p) {
  const v = Math.max(0, Math.min(1, Number(p) || 0)) * 100;
  if (v === 0) return '0%';
  if (v < 1) return '<1%';
  return v < 10 ? `${Number(v.toFixed(1))}%` : `${Math.round(v)}%`;
}

function likelihoodMeter(p) {
  const fill = h('span', { class: 'fill' });
  fill.style.width = `${Math.max(0, Math.min(1, Number(p) || 0)) * 100}%`;
  return h('span', { class: 'cov likely-meter' }, h('span', { class: 'bar', 'aria-hidden': 'true' }, fill), h('span', { class: 'pct' }, percent(p)));
}

const hostText = (addr, name) => (name ? `${name} (${addr})` : addr);

function hostNode(addr, name) {
  return h('span', { class: 'host-node' }, name ? [h('span', { class: 'node-name' }, name), ' '] : null, h('span', { class: 'node-addr' }, addr));
}

// An element id from arbitrary text (origin names, addresses).
const idPart = (text) => Array.from(String(text)).map((c) => c.codePointAt(0).toString(16)).join('');

function renderAttack() {
  if (!analysis) return;
  const r = analysis.report;
  const out = clear($('attack'));
  const paths = r.attack_paths || [];
  const jewels = r.crown_jewels || [];
  $('attack-count').textContent = String(paths.length);
  $('nav-attack').textContent = String(paths.length);
  if (jewels.length === 0) {
    out.appendChild(noCrownJewels());
  } else {
    out.appendChild(
      h(
        'div',
        { class: 'jewels' },
        h('span', { class: 'label inline', id: 'jewels-label' }, 'Crown jewels'),
        h('ul', { class: 'jewel-list', 'aria-labelledby': 'jewels-label' }, jewels.map(([addr, name]) => h('li', { class: 'jewel' }, hostNode(addr, name)))),
      ),
    );
    // One table per origin and crown jewel, in the report's order (most likely first within).
    const groups = new Map();
    paths.forEach((p, i) => {
      const k = `${p.origin}\u0000${p.target}`;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push({ p, i });
    });
    for (const items of groups.values()) out.appendChild(attackGroup(items));
    const none = [];
    for (const o of r.origins) {
      if (o.error) continue;
      for (const [addr, name] of jewels) if (!groups.has(`${o.name}\u0000${addr}`)) none.push(`${o.name} → ${hostText(addr, name)}`);
    }
    if (none.length) {
      out.appendChild(h('p', { class: groups.size ? 'no-path muted' : 'no-path empty-origin' }, 'No attack path found from ', none.join(', '), '.'));
    }
  }
  if (r.attack_notes && r.attack_notes.length) {
    out.appendChild(h('div', { class: 'assumptions attack-notes' }, h('p', { class: 'label' }, 'Notes'), h('ul', null, r.attack_notes.map((n) => h('li', null, locatedText(n))))));
  }
  if (jewels.length) out.appendChild(renderChokePoints(r.choke_points, paths.length));
}

function noCrownJewels() {
  return h(
    'div',
    { class: 'notice info no-jewels' },
    h('p', { class: 'notice-title' }, 'No crown jewels are declared: there is nothing to find attack paths to.'),
    h(
      'p',
      null,
      'Name what an attacker must not reach in a manifest (',
      h('code', null, 'portolan.yaml'),
      ', loaded with the other files): host names, addresses, CIDRs or zones under ',
      h('code', null, 'crown_jewels'),
      ', or a host with ',
      h('code', null, 'value: high'),
      ' (or ',
      h('code', null, 'critical'),
      ').',
    ),
    h('pre', { class: 'line-text' }, 'crown_jewels: [db, 10.20.2.0/24]\nhosts:\n  - {name: db, ip: 10.20.2.5, value: high}'),
  );
}

function attackGroup(items) {
  const first = items[0].p;
  const target = hostText(first.target, first.target_name);
  const id = `attack-${idPart(first.origin)}-${idPart(first.target)}`;
  return h(
    'section',
    { class: 'origin attack-group', 'aria-labelledby': id },
    h(
      'div',
      { class: 'origin-head' },
      h('h3', { id }, 'From ', h('span', { class: 'origin-name' }, first.origin), ' to ', h('span', { class: 'target-name' }, target)),
      h('span', { class: 'count' }, plural(items.length, 'path')),
    ),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'paths' },
        h('caption', { class: 'visually-hidden' }, `Attack paths from ${first.origin} to ${target}, most likely first`),
        sortableHead(ATTACK_COLUMNS, null, null, 'Details'),
        h('tbody', null, items.map(({ p, i }) => attackRow(p, i))),
      ),
    ),
  );
}

function pathChain(p) {
  return h(
    'ol',
    { class: 'chain' },
    h('li', { class: 'chain-node chain-origin' }, h('span', { class: 'node-name' }, p.origin)),
    p.steps.map((s) =>
      h(
        'li',
        { class: 'chain-node' },
        h('span', { class: 'chain-arrow', 'aria-hidden': 'true' }, '→'),
        h('span', { class: 'visually-hidden' }, 'then '),
        hostNode(s.to, s.to_name),
        ' ',
        h('code', { class: 'chain-svc' }, `${s.proto}/${s.port}`),
      ),
    ),
  );
}

function attackRow(p, i) {
  const target = hostText(p.target, p.target_name);
  return expandableRow({
    key: i,
    expanded: attackView.expanded,
    rowClass: `path-row cert-row-${p.certainty}`,
    detailClass: 'path-detail',
    detailId: `attack-detail-${i}`,
    label: `Steps of path ${p.rank} from ${p.origin} to ${target}`,
    attrs: { 'data-index': String(i) },
    colspan: ATTACK_COLUMNS.length + 1,
    detail: () => attackPathDetail(p, i),
    cells: [
      h('td', { class: 'rank' }, `#${p.rank}`),
      h(
        'td',
        { class: 'chain-cell' },
        pathChain(p),
        h(
          'span',
          { class: 'path-facts' },
          plural(p.steps.length, 'step'),
          p.shortest ? h('span', { class: 'tag fewest', title: 'The path with the fewest steps' }, 'fewest steps') : null,
        ),
      ),
      h('td', { class: 'likely' }, likelihoodMeter(p.likelihood)),
      h('td', null, certaintyBadge(p.certainty, 'Every step is surely allowed')),
      h('td', null, ownerBadge(p.owner)),
    ],
  });
}

function attackPathDetail(p, i) {
  return h(
    'div',
    { class: 'path-body' },
    h(
      'p',
      { class: 'small muted' },
      `${plural(p.steps.length, 'step')}, each a connection the network lets through to a service that lets the attacker in; the path's likelihood, ${percent(p.likelihood)}, is the product of theirs.`,
    ),
    h('button', { class: 'button small-button show-on-map', type: 'button', onclick: () => networkMap.showPath(i) }, 'Show on map'),
    h('ol', { class: 'attack-steps' }, p.steps.map((s, j) => attackStep(s, i, j))),
  );
}

function attackStep(s, i, j) {
  const way = s.way || {};
  const svc = `${s.proto}/${s.port}`;
  const hops = s.hops || [];
  const [button, region] = disclosure({
    key: `${i}:${j}`,
    expanded: attackView.steps,
    id: `attack-hops-${i}-${j}`,
    label: `Network path: ${plural(hops.length, 'hop')}`,
    content: () => hopList(hops),
    className: 'step-hops',
  });
  button.setAttribute('aria-label', `Network path: ${plural(hops.length, 'hop')} of step ${j + 1}, ${s.from} to ${s.to} ${svc}`);
  const cves = way.cves || [];
  return h(
    'li',
    { class: `attack-step cert-step-${s.certainty}` },
    h(
      'div',
      { class: 'step-head' },
      h('span', { class: 'step' }, String(j + 1)),
      h(
        'span',
        { class: 'step-hosts' },
        h('span', { class: 'step-from' }, s.from),
        h('span', { class: 'chain-arrow', 'aria-hidden': 'true' }, '→'),
        h('span', { class: 'visually-hidden' }, 'to '),
        hostNode(s.to, s.to_name),
      ),
      h('code', { class: 'step-svc' }, svc),
      s.service ? h('span', { class: 'step-seen' }, s.service) : null,
      h('span', { class: 'step-likely', title: 'Likelihood of this step' }, percent(s.likelihood)),
      certaintyBadge(s.certainty, 'The network surely lets this connection through'),
    ),
    h(
      'p',
      { class: 'step-why' },
      h('span', { class: `tag way way-${way.type}` }, way.type === 'vulnerability' ? 'vulnerability' : way.type === 'credential' ? 'credentials' : String(way.type ?? 'way in')),
      ' ',
      s.why,
    ),
    way.type === 'vulnerability'
      ? h(
          'p',
          { class: 'way-facts small' },
          'Scanner id ',
          h('code', null, way.id),
          cves.length ? [' · ', cves.map((c, k) => [k ? ' ' : null, h('code', { class: 'cve' }, c)])] : null,
          way.evidence ? [' · reported at ', locatedText(way.evidence)] : null,
        )
      : null,
    way.type === 'credential' ? h('p', { class: 'way-facts small' }, 'Credentials for ', h('code', null, way.label)) : null,
    s.confirmed ? null : h('p', { class: 'unconfirmed' }, 'No scan saw it listening: the service is assumed from its port.'),
    s.certainty === 'possible' || (s.uncertain && s.uncertain.length) ? uncertainBlock(s.uncertain, 'Possible: depends on what Portolan does not model') : null,
    hops.length ? h('div', { class: 'step-net' }, button, region) : null,
    serviceAction(s.to, s.proto, s.port),
  );
}

const EDIT_KIND = { patch: 'patch', 'delete-rule': 'delete rule', 'set-action': 'change rule', 'close-port': 'close service' };

function renderChokePoints(c, pathCount) {
  const section = h(
    'section',
    { class: 'choke', 'aria-labelledby': 'choke-title' },
    h('h3', { id: 'choke-title' }, 'Choke points'),
  );
  if (!c || c.pairs_before === 0) {
    section.appendChild(h('p', { class: 'empty-origin' }, 'No origin reaches a crown jewel: there is nothing to cut.'));
    return section;
  }
  const changes = c.changes || [];
  section.appendChild(
    h(
      'p',
      { class: 'muted small choke-intro' },
      'The fewest changes, chosen one at a time, that cut every path from an origin to a crown jewel; the first cuts the most on its own. Each was applied to a copy of the inputs and the analysis run again.',
    ),
  );
  section.appendChild(
    h(
      'div',
      { class: `proof ${c.proven ? 'proof-yes' : 'proof-no'}` },
      h('span', { class: `verdict ${c.proven ? 'verdict-allowed' : 'verdict-possibly'}` }, c.proven ? 'proven' : 'not proven'),
      h(
        'p',
        null,
        c.proven
          ? `With ${changes.length === 1 ? 'this change' : `all ${changes.length} changes`} made, the analysis run again finds no path left: ${c.pairs_before} → ${c.pairs_after} connected (origin, crown jewel) pairs.`
          : `With ${changes.length === 1 ? 'this change' : `all ${changes.length} changes`} made, ${c.pairs_after} of ${c.pairs_before} (origin, crown jewel) pairs are still connected.`,
        c.note ? h('span', { class: 'proof-note' }, ' ', c.note.charAt(0).toUpperCase() + c.note.slice(1), '.') : null,
      ),
    ),
  );
  if (changes.length) section.appendChild(h('ol', { class: 'changes' }, changes.map((ch, n) => changeItem(ch, n, pathCount))));
  return section;
}

function changeItem(ch, n, pathCount) {
  const e = ch.edit || {};
  const onRule = (e.edit === 'delete-rule' || e.edit === 'set-action') && e.file;
  const cuts = ch.cuts || [];
  const breaks = ch.breaks || [];
  return h(
    'li',
    { class: `change${breaks.length ? ' change-breaks' : ''}` },
    h(
      'div',
      { class: 'change-head' },
      h('span', { class: 'step' }, String(n + 1)),
      h('span', { class: 'tag edit-kind' }, EDIT_KIND[e.edit] ?? String(e.edit ?? 'change')),
      h('span', { class: 'change-what' }, ch.what.charAt(0).toUpperCase() + ch.what.slice(1)),
      ownerBadge(ch.owner),
    ),
    ch.detail || onRule
      ? h(
          'div',
          { class: 'change-rule' },
          ch.detail ? h('code', { class: 'rule-text' }, unbrokenWords(ch.detail)) : null,
          onRule ? sourceLink(e.file, e.line, `${e.file}:${e.line}`) : null,
        )
      : null,
    h(
      'p',
      { class: 'cuts small' },
      cuts.length ? ['On its own it disconnects ', h('span', { class: 'cut-pairs' }, cuts.join(', '))] : 'On its own it disconnects no (origin, crown jewel) pair',
      ` and breaks ${ch.paths_cut} of the ${plural(pathCount, 'path')} shown${cuts.length ? '' : ': the other changes do the rest'}.`,
    ),
    breaks.length ? h('p', { class: 'breaks-required' }, h('strong', null, `Blocks required connection${breaks.length > 1 ? 's' : ''} `), breaks.join(', '), ': proposed only because nothing else cuts these paths.') : null,
  );
}

// ---------------------------------------------------------------------------------------------
// Findings: one sortable, filterable table; a row opens the packets and rules it is about, its
// location opens the rule's line.

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
const severityLevel = (s) => {
  const i = SEVERITIES.indexOf(s);
  return i < 0 ? -1 : SEVERITIES.length - 1 - i; // info 0 … critical 4
};

const findingsView = {
  filter: '',
  severity: '',
  sort: null, // null keeps the report's order: most severe first
  expanded: new Set(), // indexes into report.findings
  showAll: false,
};

const FINDING_COLUMNS = [
  { key: 'severity', label: 'Severity', sort: true, first: -1 },
  { key: 'code', label: 'Code', sort: true },
  { key: 'certainty', label: 'Certainty', sort: true },
  { key: 'device', label: 'Device', sort: true },
  { key: 'location', label: 'Location', sort: true },
  { key: 'rule', label: 'Rule', sort: true },
  { key: 'message', label: 'Message', sort: true },
  { key: 'owner', label: 'Owner', sort: true },
];

const FINDING_SORTS = {
  severity: (a, b) => severityLevel(a.severity) - severityLevel(b.severity),
  code: (a, b) => compare(a.code, b.code),
  certainty: (a, b) => compare(a.certainty, b.certainty),
  device: (a, b) => compare(a.device, b.device) || compare(a.ruleset, b.ruleset),
  location: (a, b) => compare(a.file, b.file) || a.line - b.line,
  rule: (a, b) => compare(a.text, b.text),
  message: (a, b) => compare(a.message, b.message),
  owner: (a, b) => compare(a.owner, b.owner),
};

function findingText(f) {
  return [f.code, f.name, f.severity, f.certainty, f.device, f.ruleset, f.file && f.line ? `${f.file}:${f.line}` : f.file, f.text, f.message, f.owner]
    .filter(Boolean)
    .join(' ')
    .toLowerCase();
}

function findingMatches(f) {
  if (findingsView.severity && f.severity !== findingsView.severity) return false;
  const words = findingsView.filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = findingText(f);
  return words.every((w) => text.includes(w));
}

function severityBadge(s) {
  return h('span', { class: `sevpill sevpill-${s}` }, s);
}

function renderFindings() {
  if (!analysis) return;
  const all = analysis.report.findings || [];
  const out = clear($('findings'));
  $('findings-count').textContent = String(all.length);
  $('nav-findings').textContent = String(all.length);
  $('findings-tools').hidden = all.length === 0;
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
  for (const f of all) if (f.severity in counts) counts[f.severity]++;
  renderSeverityOptions(counts, all.length);
  const summary = clear($('findings-summary'));
  if (all.length) {
    summary.appendChild(h('span', { class: 'visually-hidden' }, 'By severity: '));
    for (const s of SEVERITIES) if (counts[s]) summary.appendChild(h('span', { class: `sevpill sevpill-${s}` }, `${counts[s]} ${s}`));
  }
  if (all.length === 0) {
    out.appendChild(h('p', { class: 'empty-origin' }, 'No findings: no rule or reachable service calls for attention.'));
    $('findings-shown').textContent = '';
    return;
  }
  const items = sortItems(
    all.map((f, i) => ({ item: f, i })).filter((x) => findingMatches(x.item)),
    findingsView.sort,
    FINDING_SORTS,
  );
  const filtering = findingsView.filter.trim() !== '' || findingsView.severity !== '';
  $('findings-shown').textContent = filtering ? `${items.length} of ${plural(all.length, 'finding')} shown` : plural(all.length, 'finding');
  if (items.length === 0) {
    out.appendChild(h('p', { class: 'muted no-match' }, 'No finding matches the search.'));
    return;
  }
  const limit = findingsView.showAll ? items.length : MAX_ROWS;
  out.appendChild(
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'findings-table' },
        h('caption', { class: 'visually-hidden' }, 'Findings'),
        sortableHead(FINDING_COLUMNS, findingsView.sort, (key) => sortView(findingsView, FINDING_COLUMNS, key, renderFindings, $('findings')), 'Details'),
        h('tbody', null, items.slice(0, limit).map(({ item, i }) => findingRow(item, i))),
      ),
    ),
  );
  if (items.length > limit) {
    out.appendChild(
      h(
        'button',
        {
          type: 'button',
          class: 'button show-all',
          onclick: () => {
            findingsView.showAll = true;
            renderFindings();
          },
        },
        `Show all ${items.length} (${items.length - limit} more)`,
      ),
    );
  }
}

function renderSeverityOptions(counts, total) {
  const select = clear($('severity-filter'));
  select.appendChild(h('option', { value: '' }, `every severity (${total})`));
  for (const s of SEVERITIES) select.appendChild(h('option', { value: s }, `${s} (${counts[s]})`));
  select.value = findingsView.severity;
}

function findingRow(f, i) {
  const where = f.file && f.line ? ` at ${f.file}:${f.line}` : '';
  return expandableRow({
    key: i,
    expanded: findingsView.expanded,
    rowClass: `finding-row sev-row-${f.severity}`,
    detailClass: 'finding-detail',
    detailId: `finding-detail-${i}`,
    label: `Details of ${f.severity} ${f.code} ${f.name} on ${f.device}${where}`,
    attrs: { 'data-index': String(i) },
    colspan: FINDING_COLUMNS.length + 1,
    detail: () => findingDetail(f),
    cells: [
      h('td', { class: 'fsev' }, severityBadge(f.severity)),
      h('td', { class: 'fcode' }, h('code', { class: 'code', title: f.name }, f.code), h('span', { class: 'fname' }, f.name)),
      h('td', null, certaintyBadge(f.certainty, 'Holds whatever the unmodelled constructs do')),
      h('td', { class: 'fdevice' }, h('span', { class: 'fdev' }, f.device), f.ruleset ? h('span', { class: 'ruleset' }, f.ruleset) : null),
      h('td', { class: 'floc' }, findingLocation(f, true)),
      h('td', { class: 'frule' }, f.text ? h('code', { class: 'rule-text' }, unbrokenWords(f.text)) : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'fmsg' }, f.message),
      h('td', null, ownerBadge(f.owner)),
    ],
  });
}

function findingLocation(f, split = false) {
  if (!f.file) return h('span', { class: 'muted' }, '—');
  if (!f.line) return h('span', { class: 'loc muted' }, f.file);
  const cut = f.file.lastIndexOf('/');
  // In the table: the folder above the file name, so a long path breaks where it reads well.
  const label = split && cut >= 0 ? [h('span', { class: 'loc-dir' }, f.file.slice(0, cut + 1)), h('span', { class: 'loc-file' }, `${f.file.slice(cut + 1)}:${f.line}`)] : `${f.file}:${f.line}`;
  return sourceLink(f.file, f.line, label);
}

function findingDetail(f) {
  const body = h(
    'div',
    { class: 'finding-body' },
    h('p', { class: 'reason' }, h('strong', null, `${f.code} ${f.name}`), ' — ', f.message),
  );
  if (f.text) {
    body.appendChild(
      h(
        'div',
        { class: 'change-rule finding-rule' },
        h('span', { class: 'ruleset' }, [f.device, f.ruleset].filter(Boolean).join(' ')),
        h('code', { class: 'rule-text' }, unbrokenWords(f.text)),
        findingLocation(f),
        ruleActions({ file: f.file, line: f.line, action: '' }),
      ),
    );
  }
  if (f.sets && f.sets.length) {
    body.appendChild(h('dl', { class: 'sets' }, f.sets.map((s) => [h('dt', null, s.label), h('dd', null, h('code', null, s.text))])));
  }
  // Other rules involved (the finding's own rule is shown above).
  const related = (f.related || []).filter((r) => !(r.file === f.file && r.line === f.line && r.text === f.text));
  if (related.length) {
    body.appendChild(h('div', { class: 'related' }, h('p', { class: 'label' }, 'Other rules involved'), h('ul', { class: 'decisions' }, related.map((r) => ruleRow(r, false)))));
  }
  if (f.witness) body.appendChild(h('p', { class: 'witness muted small' }, 'For example ', h('code', null, witnessText(f.witness))));
  if (f.certainty === 'possible' || (f.depends_on && f.depends_on.length)) {
    body.appendChild(uncertainBlock(f.depends_on, 'Possible: depends on what Portolan does not model'));
  }
  if (f.help) body.appendChild(h('p', { class: 'muted small' }, 'Explained in ', h('code', null, f.help), ' of the Portolan documentation.'));
  return body;
}

// ---------------------------------------------------------------------------------------------
// Policy: the zone matrix as a grid (its cells from the report's matrix entries, violations and
// unused allowances), then each assertion with its status. A cell and an assertion open their
// violations: the witness connection, the whole violating class and the path, hop by hop.

const policyView = {
  cell: null, // id of the matrix entry whose cell is opened under the grid
  expanded: new Set(), // ids of the assertions opened
};

const POLICY_KIND = { 'must-not-reach': 'must not reach', 'must-reach': 'must reach', 'vendor-scope': 'vendor scope', matrix: 'zone matrix' };
const POLICY_STATUS = ['violated', 'possibly violated', 'not checked', 'holds'];
const statusClass = (s) => `pstatus pstatus-${String(s).replace(/\s+/g, '-')}`;
const endpointLabel = (e) => (e.startsWith('zone:') ? e.slice(5) : e);

function statusBadge(status) {
  return h('span', { class: statusClass(status) }, status);
}

function manifestLink(file, line) {
  if (!file || !line) return h('span', { class: 'loc muted', title: 'No entry of the manifest names this pair' }, 'not in the matrix');
  return sourceLink(file, line, `${file}:${line}`);
}

function renderPolicy() {
  if (!analysis) return;
  const r = analysis.report;
  const entries = r.policy_entries || [];
  const violations = r.violations || [];
  const unused = r.unused_policy || [];
  const out = clear($('policy'));
  const summary = clear($('policy-summary'));
  const broken = entries.filter((e) => e.status === 'violated' || e.status === 'possibly violated').length;
  $('policy-count').textContent = entries.length ? String(broken) : '';
  $('nav-policy').textContent = entries.length ? String(broken) : '';
  $('policy-count').title = entries.length ? `${plural(broken, 'entry', 'entries')} of ${entries.length} violated` : '';
  if (entries.length === 0) {
    out.appendChild(noPolicy(r));
    return;
  }
  summary.appendChild(h('span', { class: 'visually-hidden' }, 'Entries by status: '));
  for (const s of POLICY_STATUS) {
    const n = entries.filter((e) => e.status === s).length;
    if (n) summary.appendChild(h('span', { class: statusClass(s) }, `${n} ${s}`));
  }
  if (unused.length) summary.appendChild(h('span', { class: 'pstatus pstatus-unused' }, `${unused.length} unused ${unused.length === 1 ? 'allowance' : 'allowances'}`));
  const byId = (list) => {
    const m = new Map();
    for (const x of list) {
      if (!m.has(x.id)) m.set(x.id, []);
      m.get(x.id).push(x);
    }
    return m;
  };
  const violationsOf = byId(violations);
  const unusedOf = byId(unused);
  const matrix = entries.filter((e) => e.kind === 'matrix');
  const assertions = entries.filter((e) => e.kind !== 'matrix');
  out.appendChild(matrixSection(matrix, violationsOf, unusedOf));
  out.appendChild(assertionsSection(assertions, violationsOf));
}

function noPolicy(r) {
  const manifest = r.inputs.find((i) => i.format === 'portolan manifest');
  return h(
    'div',
    { class: 'notice info no-policy' },
    h('p', { class: 'notice-title' }, manifest ? `The manifest ${manifest.path} states no policy: there is nothing to check.` : 'No manifest states a policy: there is nothing to check.'),
    h(
      'p',
      null,
      'Write management\'s rules under ',
      h('code', null, 'policy'),
      ' in a manifest (',
      h('code', null, 'portolan.yaml'),
      ', loaded with the other files): a zone ',
      h('code', null, 'matrix'),
      ' (what may go from one zone to another; a pair not listed allows nothing), connections that ',
      h('code', null, 'must_not_reach'),
      ' or ',
      h('code', null, 'must_reach'),
      ', and ',
      h('code', null, 'vendor_scopes'),
      ' (all a vendor may reach). Each entry is checked over every packet.',
    ),
    h(
      'pre',
      { class: 'line-text' },
      [
        'origins:',
        '  - {name: vendor, addresses: [172.16.30.0/24], role: vendor}',
        'zones:',
        '  dmz: {addresses: [192.168.10.0/24]}',
        '  lan: {addresses: [10.0.0.0/24]}',
        'policy:',
        '  matrix:',
        '    - {from: internet, to: dmz, allow: [tcp/443]}',
        '    - {from: lan, to: dmz, allow: [tcp/22, tcp/443]}',
        '  must_not_reach:',
        '    - {id: NO-INET-LAN, from: internet, to: zone:lan, services: [any]}',
        '  must_reach:',
        '    - {id: LAN-WEB, from: lan, to: 192.168.10.20, services: [tcp/443]}',
        '  vendor_scopes:',
        '    - {id: V1, origin: vendor, allow: [{to: 192.168.10.20, services: [tcp/22]}]}',
      ].join('\n'),
    ),
  );
}

/** The zone matrix: endpoints on both axes (Internet first), a cell per ordered pair. */
function matrixSection(matrix, violationsOf, unusedOf) {
  const section = h('section', { class: 'matrix-section', 'aria-labelledby': 'zone-matrix-title' }, h('h3', { id: 'zone-matrix-title' }, 'Zone matrix'));
  if (matrix.length === 0) {
    section.appendChild(h('p', { class: 'muted small' }, 'The policy has no zone matrix (', h('code', null, 'policy.matrix'), '): only the assertions below are checked.'));
    return section;
  }
  const names = [...new Set(matrix.flatMap((e) => [e.from, e.to]))].sort((a, b) => {
    if (a === b) return 0;
    if (a === 'internet') return -1;
    if (b === 'internet') return 1;
    return compare(endpointLabel(a), endpointLabel(b));
  });
  const cells = new Map(matrix.map((e) => [`${e.from}\u0000${e.to}`, e]));
  if (policyView.cell !== null && !matrix.some((e) => e.id === policyView.cell)) policyView.cell = null;
  const detail = h('div', { id: 'matrix-cell-detail', class: 'cell-detail', 'aria-live': 'polite' });
  const grid = h(
    'table',
    { class: 'matrix-grid' },
    h('caption', { class: 'visually-hidden' }, 'Zone matrix: each row is where connections come from, each column where they go; a cell lists the services the policy allows and marks violations and unused allowances'),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col', class: 'corner' }, h('span', { class: 'corner-from' }, 'from'), h('span', { 'aria-hidden': 'true' }, ' \\ '), h('span', { class: 'corner-to' }, 'to')),
        names.map((n) => h('th', { scope: 'col', class: 'to-name', title: n }, endpointLabel(n))),
      ),
    ),
    h(
      'tbody',
      null,
      names.map((from) =>
        h(
          'tr',
          null,
          h('th', { scope: 'row', class: 'from-name', title: from }, endpointLabel(from)),
          names.map((to) => matrixCell(from, to, cells.get(`${from}\u0000${to}`), violationsOf, unusedOf, detail)),
        ),
      ),
    ),
  );
  section.appendChild(h('div', { class: 'table-wrap' }, grid));
  section.appendChild(
    h(
      'ul',
      { class: 'matrix-legend small muted', 'aria-label': 'Legend' },
      h('li', null, h('span', { class: 'svc-chip' }, 'tcp/443'), ' allowed by the policy'),
      h('li', null, h('span', { class: 'svc-chip svc-unused' }, 'tcp/80'), ' allowed, but the configs block it (unused)'),
      h('li', null, h('span', { class: 'cell-mark mark-holds' }, '✓'), ' holds'),
      h('li', null, h('span', { class: 'cell-mark mark-violated' }, '✕ 1'), ' violations: connections possible beyond what is allowed'),
      h('li', null, h('span', { class: 'cell-none' }, '·'), ' nothing allowed and nothing possible'),
    ),
  );
  section.appendChild(detail);
  if (policyView.cell !== null) fillCellDetail(detail, matrix.find((e) => e.id === policyView.cell), violationsOf, unusedOf);
  return section;
}

function matrixCell(from, to, entry, violationsOf, unusedOf, detail) {
  if (from === to) return h('td', { class: 'mcell self', 'aria-label': 'same zone' }, h('span', { 'aria-hidden': 'true' }, '—'));
  if (!entry) {
    // The core lists a pair the matrix does not name only when it is violated: the others hold.
    return h('td', { class: 'mcell empty', title: `${endpointLabel(from)} → ${endpointLabel(to)}: nothing allowed, nothing possible` }, h('span', { class: 'cell-none', 'aria-hidden': 'true' }, '·'), h('span', { class: 'visually-hidden' }, 'nothing allowed, holds'));
  }
  const unusedHere = new Set((unusedOf.get(entry.id) || []).map((u) => u.service));
  // The button is named by its own text: what is shown, with what the eye gets from the layout
  // (the zones, the separators, the meaning of the mark) in hidden text, so that its accessible
  // name contains its visible text.
  const hidden = (text) => h('span', { class: 'visually-hidden' }, text);
  // Each service with the separator that follows it (hidden: the layout shows them apart).
  const services = entry.services.length
    ? entry.services.map((s, n) =>
        h(
          'span',
          null,
          h('span', { class: unusedHere.has(s) ? 'svc-chip svc-unused' : 'svc-chip', title: unusedHere.has(s) ? 'Allowed by the policy, blocked by the configs: unused' : 'Allowed by the policy' }, s),
          hidden(n + 1 < entry.services.length ? ',' : ';'),
        ),
      )
    : [h('span', null, h('span', { class: 'svc-none' }, 'nothing allowed'), hidden(';'))];
  const marks = [];
  if (entry.status === 'violated' || entry.status === 'possibly violated') {
    const cls = entry.status === 'violated' ? 'mark-violated' : 'mark-possibly';
    marks.push(
      hidden(`${entry.status},`),
      h('span', { class: `cell-mark ${cls}`, title: `${entry.status}: ${plural(entry.violations, 'violation')}` }, h('span', { 'aria-hidden': 'true' }, entry.status === 'violated' ? '✕ ' : '? '), String(entry.violations)),
      hidden(entry.violations === 1 ? 'violation' : 'violations'),
    );
  } else if (entry.status === 'not checked') {
    marks.push(h('span', { class: 'cell-mark mark-unchecked', title: entry.error ?? 'not checked' }, 'not checked'));
  } else {
    marks.push(h('span', { class: 'cell-mark mark-holds', title: 'holds' }, h('span', { 'aria-hidden': 'true' }, '✓')), hidden(entry.status));
  }
  const open = policyView.cell === entry.id;
  const button = h(
    'button',
    {
      type: 'button',
      class: 'cell-button',
      'aria-expanded': String(open),
      'aria-controls': 'matrix-cell-detail',
      'data-id': entry.id,
      onclick: () => {
        policyView.cell = policyView.cell === entry.id ? null : entry.id;
        const grid = button.closest('table');
        for (const b of grid.querySelectorAll('.cell-button')) b.setAttribute('aria-expanded', String(b.dataset.id === policyView.cell));
        for (const td of grid.querySelectorAll('td.mcell')) td.classList.toggle('open', td.querySelector('.cell-button[aria-expanded="true"]') !== null);
        fillCellDetail(detail, policyView.cell === null ? null : entry, violationsOf, unusedOf);
      },
    },
    hidden(`${endpointLabel(from)} to ${endpointLabel(to)}:${entry.services.length ? ' allows' : ''}`),
    h('span', { class: 'cell-services' }, services),
    unusedHere.size ? hidden(`unused: ${[...unusedHere].join(', ')};`) : null,
    h('span', { class: 'cell-marks' }, marks),
  );
  const cls = `mcell status-cell-${entry.status.replace(/\s+/g, '-')}${unusedHere.size ? ' has-unused' : ''}${open ? ' open' : ''}`;
  return h('td', { class: cls }, button);
}

function fillCellDetail(box, entry, violationsOf, unusedOf) {
  clear(box);
  if (!entry) return;
  const vs = violationsOf.get(entry.id) || [];
  const us = unusedOf.get(entry.id) || [];
  box.appendChild(
    h(
      'div',
      { class: 'cell-detail-head' },
      h('h4', null, 'From ', h('span', { class: 'origin-name' }, endpointLabel(entry.from)), ' to ', h('span', { class: 'origin-name' }, endpointLabel(entry.to))),
      statusBadge(entry.status),
      manifestLink(entry.file, entry.line),
    ),
  );
  box.appendChild(h('p', { class: 'cell-desc' }, entry.description.charAt(0).toUpperCase() + entry.description.slice(1), '.'));
  if (entry.error) box.appendChild(notice('error', 'Not checked', entry.error));
  if (vs.length) box.appendChild(violationList(entry, vs));
  if (us.length) {
    box.appendChild(
      h(
        'div',
        { class: 'unused-list' },
        h('p', { class: 'label' }, 'Allowed but unused'),
        us.map((u) => unusedBlock(u)),
      ),
    );
  }
}

function violationList(entry, vs) {
  const more = entry.violations - vs.length;
  return h(
    'div',
    { class: 'violations' },
    h('p', { class: 'label' }, plural(entry.violations, 'violation'), entry.violations > 1 ? ', each a class of connections' : ''),
    h('ol', { class: 'violation-list' }, vs.map((v) => h('li', null, violationBlock(v)))),
    more > 0 ? h('p', { class: 'muted small' }, `and ${plural(more, 'more class', 'more classes')}: at most ${vs.length} are listed per entry.`) : null,
  );
}

function violationBlock(v) {
  return h(
    'article',
    { class: `violation cert-step-${v.certainty}` },
    h('div', { class: 'violation-head' }, certaintyBadge(v.certainty, 'Holds whatever the unmodelled constructs do'), ownerBadge(v.owner), h('span', { class: 'violation-msg' }, v.message)),
    h(
      'dl',
      { class: 'sets' },
      h('dt', null, v.kind === 'must-reach' ? 'Blocked connection' : 'Witness'),
      h('dd', null, h('code', { class: 'witness-flow' }, witnessText(v.witness))),
      h('dt', null, v.kind === 'must-reach' ? 'Every blocked connection of its class' : 'Every connection of its class'),
      h('dd', null, h('code', { class: 'violating-set' }, v.set)),
      h('dt', null, 'Certainty'),
      h('dd', null, v.certainty === 'possible' ? 'possible: depends on what Portolan does not model' : 'definite'),
      h('dt', null, 'Owner'),
      h('dd', null, v.owner),
    ),
    v.certainty === 'possible' || (v.uncertain && v.uncertain.length) ? uncertainBlock(v.uncertain, 'Possible: depends on what Portolan does not model') : null,
    v.hops && v.hops.length ? h('div', { class: 'violation-path' }, h('p', { class: 'label' }, 'Path'), hopList(v.hops)) : null,
  );
}

function unusedBlock(u) {
  return h(
    'article',
    { class: 'unused' },
    h('div', { class: 'violation-head' }, h('span', { class: 'svc-chip svc-unused' }, u.service), ownerBadge(u.owner), h('span', { class: 'violation-msg' }, 'Allowed by the policy, but the configs block every such connection: a policy nobody needs, or a rule that is missing.')),
    h('p', { class: 'reason small' }, u.reason),
    h('p', { class: 'witness muted small' }, 'Blocked, for example ', h('code', { class: 'witness-flow' }, witnessText(u.witness))),
    u.hops && u.hops.length ? hopList(u.hops) : null,
  );
}

const ASSERTION_COLUMNS = [
  { key: 'id', label: 'Entry' },
  { key: 'kind', label: 'Kind' },
  { key: 'rule', label: 'Rule' },
  { key: 'status', label: 'Status' },
  { key: 'line', label: 'Manifest' },
];

function assertionsSection(assertions, violationsOf) {
  const section = h('section', { class: 'assertions-section', 'aria-labelledby': 'assertions-title' }, h('h3', { id: 'assertions-title' }, 'Assertions'));
  if (assertions.length === 0) {
    section.appendChild(h('p', { class: 'muted small' }, 'The policy has no ', h('code', null, 'must_not_reach'), ', ', h('code', null, 'must_reach'), ' or ', h('code', null, 'vendor_scopes'), ' entry.'));
    return section;
  }
  section.appendChild(
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'assertions' },
        h('caption', { class: 'visually-hidden' }, 'Policy assertions and their status'),
        sortableHead(ASSERTION_COLUMNS, null, null, 'Violations'),
        h('tbody', null, assertions.map((e) => assertionRow(e, violationsOf.get(e.id) || []))),
      ),
    ),
  );
  return section;
}

function assertionRule(e) {
  const services = e.services.join(', ');
  const what =
    e.kind === 'vendor-scope'
      ? [h('span', { class: 'origin-name' }, e.from), ' may reach only ', h('code', null, e.services.join('; ') || 'nothing')]
      : [h('span', { class: 'origin-name' }, e.from), ' → ', h('span', { class: 'origin-name' }, e.to), ' ', h('code', null, services)];
  return [h('span', { class: 'rule-what' }, what), h('span', { class: 'rule-desc' }, e.description)];
}

function assertionRow(e, vs) {
  const cells = [
    h('td', { class: 'aid' }, h('code', { class: 'code' }, e.id)),
    h('td', { class: 'akind' }, POLICY_KIND[e.kind] ?? e.kind),
    h('td', { class: 'arule' }, assertionRule(e)),
    h('td', { class: 'astatus' }, statusBadge(e.status), e.violations ? h('span', { class: 'avcount' }, plural(e.violations, 'violation')) : null),
    h('td', { class: 'aline' }, manifestLink(e.file, e.line)),
  ];
  const rowClass = `assertion-row ${statusClass(e.status).split(' ')[1]}-row`;
  if (vs.length === 0 && !e.error) {
    return h('tr', { class: rowClass, 'data-id': e.id }, h('td', { class: 'col-toggle' }), cells);
  }
  return expandableRow({
    key: e.id,
    expanded: policyView.expanded,
    rowClass,
    detailClass: 'assertion-detail',
    detailId: `assertion-detail-${idPart(e.id)}`,
    label: `Violations of ${e.id}, ${POLICY_KIND[e.kind] ?? e.kind}: ${e.status}`,
    attrs: { 'data-id': e.id },
    colspan: ASSERTION_COLUMNS.length + 1,
    detail: () => h('div', { class: 'assertion-body' }, e.error ? notice('error', 'Not checked', e.error) : null, vs.length ? violationList(e, vs) : null),
    cells,
  });
}

// ---------------------------------------------------------------------------------------------
// Responsibilities: per owner role, the actions ordered by risk with their evidence (the core's
// responsibility map), and the management summary, rendered from the core's Markdown into
// elements and text nodes.

const ROLES = [
  { key: 'it', name: 'IT', what: 'Changes devices and rules: IT implements the policy in the devices. The default owner.' },
  { key: 'management', name: 'Management', what: 'Decides policy gaps, such as an allowance nothing implements, and accepted risks: only management can say whether the policy or its implementation is wrong.' },
  { key: 'vendor', name: 'Vendor', what: "Holds a vendor's access and the devices it manages: access wider than its scope, and what its origin reaches, are the vendor's to close under its contract." },
  { key: 'employees', name: 'Employees', what: "Stop the first step from a phished workstation: what the office subnet reaches calls for awareness training and endpoint hardening." },
  { key: 'auditor', name: 'Auditor', what: 'Verifies what Portolan cannot decide: results that depend on constructs it does not model, and analyses not completed, need a person to look before anyone acts.' },
];

const ACTION_KIND = { change: 'change', violation: 'policy violation', 'attack-path': 'attack path', finding: 'finding', exposure: 'exposure', 'unused-policy': 'unused policy' };
const MAX_ACTIONS = 50; // rows per role before "Show all"

const rolesView = {
  map: null, // the core's responsibility map: {owners: {role: [action]}}
  summary: null, // the management summary, Markdown
  figures: null, // the summary's figures (roles::Figures) of the same analysis
  gen: 0, // the load they belong to
  open: new Set(), // roles shown
  showAll: new Set(),
};

async function loadRoles(gen, seq) {
  const { origins } = analysis;
  clear($('roles')).appendChild(h('p', { class: 'working' }, 'Sorting the actions by owner…'));
  clear($('summary-doc')).appendChild(h('p', { class: 'working' }, 'Writing the summary…'));
  $('print-summary').disabled = true;
  document.body.classList.remove('has-summary');
  try {
    const [map, summary, figures] = await Promise.all([
      call('responsibilities', { origins }),
      call('export', { format: 'summary', origins }),
      call('figures', { origins }),
    ]);
    if (gen !== loadGen || seq !== analysisSeq) return;
    rolesView.map = map.result;
    rolesView.summary = summary.result;
    rolesView.figures = figures.result;
    rolesView.gen = gen;
    renderOverview();
    const owners = rolesView.map.owners || {};
    rolesView.open = new Set(Object.keys(owners).filter((k) => owners[k].length));
    rolesView.showAll.clear();
    renderRoles();
    renderSummary();
  } catch (e) {
    if (gen !== loadGen || seq !== analysisSeq) return;
    if (isCancelled(e)) {
      keepEarlierAnalysis(analysis.origins);
      return;
    }
    clear($('roles')).appendChild(notice('error', 'The responsibilities could not be worked out', e.message));
    clear($('summary-doc'));
  }
}

function renderRoles() {
  const owners = (rolesView.map && rolesView.map.owners) || {};
  const out = clear($('roles'));
  const total = Object.values(owners).reduce((n, list) => n + list.length, 0);
  $('roles-count').textContent = String(total);
  $('nav-roles').textContent = String(total);
  const known = new Set(ROLES.map((r) => r.key));
  const roles = [...ROLES, ...Object.keys(owners).filter((k) => !known.has(k)).map((k) => ({ key: k, name: k, what: '' }))];
  for (const role of roles) out.appendChild(roleSection(role, owners[role.key] || []));
}

function roleSection(role, actions) {
  const id = `role-${idPart(role.key)}`;
  const [button, region] = disclosure({
    key: role.key,
    expanded: rolesView.open,
    id: `${id}-actions`,
    label: [h('span', { class: 'role-name' }, role.name), ' ', h('span', { class: 'count' }, plural(actions.length, 'action'))],
    content: () => actionTable(role, actions),
    className: 'role-actions',
  });
  button.setAttribute('aria-label', `${role.name}: ${plural(actions.length, 'action')}`);
  return h(
    'section',
    { class: `role role-${role.key}`, 'aria-labelledby': `${id}-title`, 'data-role': role.key },
    h('h3', { id: `${id}-title`, class: 'role-title' }, button, ownerBadge(role.key)),
    role.what ? h('p', { class: 'role-what small muted' }, role.what) : null,
    region,
  );
}

function actionTable(role, actions) {
  if (actions.length === 0) return h('p', { class: 'empty-origin small' }, 'Nothing to do.');
  const limit = rolesView.showAll.has(role.key) ? actions.length : MAX_ACTIONS;
  const wrap = h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'actions' },
      h('caption', { class: 'visually-hidden' }, `Actions for ${role.name}, highest risk first`),
      h('thead', null, h('tr', null, h('th', { scope: 'col', class: 'col-risk' }, 'Risk'), h('th', { scope: 'col', class: 'col-kind' }, 'Kind'), h('th', { scope: 'col', class: 'col-what' }, 'Action'), h('th', { scope: 'col', class: 'col-evidence' }, 'Evidence'))),
      h(
        'tbody',
        null,
        actions.slice(0, limit).map((a) =>
          h(
            'tr',
            { class: `action-row kind-${a.kind}` },
            h('td', { class: 'risk' }, h('span', { class: 'risk-score', title: 'Risk ranks actions; it is not a probability' }, String(a.risk))),
            h('td', { class: 'kind' }, h('span', { class: 'tag' }, ACTION_KIND[a.kind] ?? a.kind)),
            h('td', { class: 'what' }, linkedText(a.what)),
            h('td', { class: 'evidence' }, a.evidence ? linkedText(a.evidence) : h('span', { class: 'muted' }, '—')),
          ),
        ),
      ),
    ),
  );
  if (actions.length <= limit) return wrap;
  return h(
    'div',
    null,
    wrap,
    h(
      'button',
      {
        type: 'button',
        class: 'button show-all',
        onclick: (ev) => {
          rolesView.showAll.add(role.key);
          ev.currentTarget.parentElement.replaceWith(actionTable(role, actions));
        },
      },
      `Show all ${actions.length} (${actions.length - limit} more)`,
    ),
  );
}

// Text in which every "path:line" of a loaded file becomes a link to the source viewer.
function linkedText(text) {
  const out = [];
  let rest = String(text);
  for (;;) {
    let best = null;
    for (const [path, index] of pathsLongestFirst) {
      let at = rest.indexOf(`${path}:`);
      while (at >= 0) {
        const m = /^:(\d+)/.exec(rest.slice(at + path.length));
        if (m && (best === null || at < best.at)) {
          best = { at, path, index, line: Number(m[1]), end: at + path.length + m[0].length };
          break;
        }
        at = rest.indexOf(`${path}:`, at + 1);
      }
    }
    if (!best) break;
    if (best.at > 0) out.push(rest.slice(0, best.at));
    out.push(sourceLink(best.path, best.line, `${best.path}:${best.line}`, best.index));
    rest = rest.slice(best.end);
  }
  if (rest) out.push(rest);
  return out;
}

// The summary's Markdown as elements: headings, paragraphs, lists, bold and code. Text only
// ever becomes text nodes.
function markdownInline(text) {
  return text.split(/(\*\*[^*]+\*\*|`[^`]+`)/).map((part, i) => {
    if (i % 2 === 0) return part;
    return part.startsWith('**') ? h('strong', null, part.slice(2, -2)) : h('code', null, part.slice(1, -1));
  });
}

function markdownDoc(md) {
  const doc = h('div', { class: 'md' });
  let list = null;
  let para = null;
  const end = () => {
    list = null;
    para = null;
  };
  for (const line of md.split('\n')) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*]\s+(.*)$/.exec(line);
    const numbered = /^\s*(\d+)\.\s+(.*)$/.exec(line);
    if (heading) {
      end();
      doc.appendChild(h(`h${Math.min(6, heading[1].length + 3)}`, null, markdownInline(heading[2])));
    } else if (bullet || numbered) {
      para = null;
      const tag = bullet ? 'ul' : 'ol';
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = h(tag, null);
        doc.appendChild(list);
      }
      list.appendChild(h('li', numbered ? { value: numbered[1] } : null, markdownInline(bullet ? bullet[1] : numbered[2])));
    } else if (line.trim() === '') {
      end();
    } else if (para) {
      append(para, [' ', markdownInline(line.trim())]);
    } else {
      list = null;
      para = h('p', null, markdownInline(line.trim()));
      doc.appendChild(para);
    }
  }
  return doc;
}

function renderSummary() {
  const box = clear($('summary-doc'));
  const overview = clear($('overview-summary'));
  if (!rolesView.summary) return;
  box.appendChild(markdownDoc(rolesView.summary));
  overview.appendChild(markdownDoc(rolesView.summary));
  $('print-summary').disabled = false;
  document.body.classList.add('has-summary');
}

// Exports: JSON is the report itself; Markdown, CSV, SARIF, the summary and the evidence pack
// come from the core's renderers. The file is made here and saved through a download link:
// nothing is sent anywhere.
const EXPORTS = {
  json: { file: 'portolan-exposure.json', type: 'application/json' },
  markdown: { file: 'portolan-exposure.md', type: 'text/markdown' },
  csv: { file: 'portolan-exposure.csv', type: 'text/csv' },
  html: { file: 'portolan-report.html', type: 'text/html' },
  sarif: { file: 'portolan-findings.sarif', type: 'application/sarif+json' },
  'findings-csv': { file: 'portolan-findings.csv', type: 'text/csv' },
  summary: { file: 'portolan-summary.md', type: 'text/markdown' },
  responsibilities: { file: 'portolan-responsibilities.md', type: 'text/markdown' },
  evidence: { file: 'portolan-evidence.md', type: 'text/markdown' },
  'evidence-json': { file: 'portolan-evidence.json', type: 'application/json' },
};

async function exportAnalysis(format) {
  const spec = EXPORTS[format];
  if (!analysis || !spec) return;
  const { report: r, origins } = analysis;
  let text;
  try {
    text = format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : (await call('export', { format, origins })).result;
  } catch (e) {
    setStatus(`Could not export the analysis: ${e.message}`, 'error');
    return;
  }
  if (analysis === null || analysis.report !== r) return;
  const url = URL.createObjectURL(new Blob([text], { type: `${spec.type};charset=utf-8` }));
  const a = h('a', { href: url, download: spec.file, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
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

// A file removed or replaced: the set is the user's own now, no longer the sample as bundled.
installFiles({
  call,
  h,
  setStatus,
  shown: (result, ms) => {
    usingSample = null;
    showReport(result, ms);
  },
});
installWorkshop({ h, clear });
installWhatif({ call, h, clear, setStatus, origins: () => (analysis ? analysis.origins : parseOrigins($('origins').value)), fileIndex: (path) => pathIndex.get(path) });
installSession({
  call,
  h,
  setStatus,
  current: () => ({ sample: usingSample ? usingSample.id : null, origins: analysis ? analysis.origins : parseOrigins($('origins').value) }),
  restored: (result, ms, sampleId, origins) => {
    usingSample = samples.find((s) => s.id === sampleId) ?? null;
    showReport(result, ms, origins);
  },
});
$('session-save').addEventListener('click', saveSession);
$('session-input').addEventListener('change', async (ev) => {
  const input = ev.currentTarget;
  const file = input.files[0];
  input.value = '';
  if (file) await openSession(file.name, new Uint8Array(await file.arrayBuffer()));
});

$('sample-button').addEventListener('click', loadSample);
$('progress-cancel').addEventListener('click', cancelWork);

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

$('origins-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  runAnalysis();
});

$('exposure-filter').addEventListener('input', (ev) => {
  exposureView.filter = ev.currentTarget.value;
  renderExposure();
});

$('certainty-filter').addEventListener('change', (ev) => {
  exposureView.certainty = ev.currentTarget.value;
  renderExposure();
});

$('findings-filter').addEventListener('input', (ev) => {
  findingsView.filter = ev.currentTarget.value;
  renderFindings();
});

$('severity-filter').addEventListener('change', (ev) => {
  findingsView.severity = ev.currentTarget.value;
  renderFindings();
});

for (const format of Object.keys(EXPORTS)) {
  $(`export-${format}`).addEventListener('click', () => exportAnalysis(format));
}

// The print stylesheet prints the summary alone, on one page.
$('print-summary').addEventListener('click', () => window.print());

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

// The Map view (www/map.js) draws what the worker's map requests return; its links lead here.
const networkMap = createMap({
  card: $('map-card'),
  call,
  links: {
    exposure(address) {
      $('exposure-filter').value = address;
      $('exposure-filter').dispatchEvent(new Event('input'));
      showView('exposure-card', $('exposure-filter'));
    },
    findings(device) {
      $('findings-filter').value = device;
      $('findings-filter').dispatchEvent(new Event('input'));
      showView('findings-card', $('findings-filter'));
    },
    files() {
      showView('workspace');
    },
  },
});

// The Service matrix view (www/matrix.js): asked on demand, for one device and port.
const serviceMatrix = createMatrix({ card: $('matrix-card'), call });
