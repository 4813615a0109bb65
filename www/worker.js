// The worker owns the WebAssembly module: it loads it once, keeps the sample networks' files in
// memory, and runs every parse and query so the page never blocks. Messages carry ids:
//   page → worker  {id, type: 'load', files: [{name, bytes: ArrayBuffer}]}
//                  {id, type: 'loadSample', sample: id}              (samples/index.json's ids)
//                  {id, type: 'query', from, to, proto, port}
//                  {id, type: 'analyze', origins: [string]}        ([] means internet)
//                  {id, type: 'export', format, origins: [string]}  (markdown, csv, sarif,
//                     findings-csv, summary, responsibilities, evidence, evidence-json)
//                  {id, type: 'responsibilities', origins: [string]}
//                  {id, type: 'figures', origins: [string]}  → the management summary's figures
//                  {id, type: 'source', file, line, context}
//                  {id, type: 'map', origins: [string] | null, expanded: [string] | null}
//                     (origins null: the network alone; expanded null: the default view)
//                  {id, type: 'matrix', proto, port, sport: number | null, device: string | null,
//                     toDevice: bool}   → the ServiceMatrix of `portolan matrix --json`
//                  {id, type: 'whatif', edits: [edit], origins: [string]} → {edits, unmatched, diff, after}
//                  {id, type: 'unzip', name, bytes}     → {files: [{name, bytes}], problems: [{name, message}]}
//                  {id, type: 'sampleFiles', sample: id} → the sample's [{name, bytes, manifest}]
//                  {id, type: 'kit'} → {module: WebAssembly.Module, samples}, for a standby worker
//                  {type: 'kit', module, samples}  (to a standby worker, once: see STANDBY)
//   worker → page  {id, ok: true, result, ms} | {id, ok: false, error}
//                  {type: 'ready', samples: [{id, name, description, files, questions, workshop}]} once,
//                  or {type: 'fatal', error}
// Everything is fetched during start-up; nothing afterwards.

import init, { Session } from './pkg/portolan.js';
import { readZip } from './zip.js';

// The single-file build (scripts/build-single.sh) runs this worker from a Blob, with the module and
// the samples' files embedded: self.PORTOLAN_EMBED = {wasm: base64, files: {'samples/…': base64}}.
const EMBED = self.PORTOLAN_EMBED ?? null;
const HERE = EMBED ? 'file:///portolan/' : import.meta.url;
const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

let session = null;
let samples = []; // [{id, info, files: [{name, bytes, manifest}]}], in the order of samples/index.json
let broken = null; // set when the module trapped: its memory can no longer be trusted

async function fetchOk(url, as) {
  if (EMBED) {
    const key = decodeURIComponent(new URL(url).pathname.replace(/^\/portolan\//, ''));
    if (!Object.hasOwn(EMBED.files, key)) throw new Error(`${key} is not in this page`);
    const bytes = fromBase64(EMBED.files[key]);
    return as === 'json' ? JSON.parse(new TextDecoder().decode(bytes)) : bytes.buffer;
  }
  const resp = await fetch(url, { credentials: 'same-origin' });
  if (!resp.ok) throw new Error(`${url}: ${resp.status} ${resp.statusText}`);
  return as === 'json' ? resp.json() : resp.arrayBuffer();
}

// Every sample's files are fetched during start-up, so loading one later needs no request. A
// sample's `manifest` (optional) is read as its manifest whatever other manifest it has, as the
// CLI's --manifest. Samples that share files fetch them once.
async function loadSampleFiles() {
  const base = new URL('./samples/', HERE);
  const index = await fetchOk(new URL('index.json', base), 'json');
  const list = Array.isArray(index.samples) ? index.samples.filter((s) => s && typeof s === 'object') : [];
  const fetched = new Map();
  const bytesOf = (name) => {
    if (!fetched.has(name)) fetched.set(name, fetchOk(new URL(name.split('/').map(encodeURIComponent).join('/'), base)));
    return fetched.get(name);
  };
  return Promise.all(
    list.map(async (info, n) => {
      const names = Array.isArray(info.files) ? info.files.filter((f) => typeof f === 'string') : [];
      const manifest = typeof info.manifest === 'string' ? info.manifest : null;
      const files = await Promise.all(
        [...names, ...(manifest ? [manifest] : [])].map(async (name, i) => ({ name, bytes: await bytesOf(name), manifest: i === names.length })),
      );
      // Guided questions (samples/workshops/<id>.json), shown by workshop.js.
      const workshop = typeof info.workshop === 'string' ? await fetchOk(new URL(info.workshop.split('/').map(encodeURIComponent).join('/'), base), 'json') : null;
      return { id: String(info.id ?? `sample-${n + 1}`), info, files, workshop };
    }),
  );
}

// A standby worker (self.name 'standby', started by the page while it loads) fetches nothing: it
// waits for the compiled module and the samples' files of the first worker, {type: 'kit', module,
// samples}, and takes over when Cancel ends the busy one, so that the page makes no request.
const STANDBY = self.name === 'standby';
let kitGiven = null;
const kit = STANDBY ? new Promise((resolve) => (kitGiven = resolve)) : null;
let wasmModule = null;

async function compileModule() {
  const bytes = EMBED ? fromBase64(EMBED.wasm) : await fetchOk(new URL('./pkg/portolan_bg.wasm', HERE));
  return WebAssembly.compile(bytes);
}

const started = (async () => {
  let list;
  if (STANDBY) {
    const k = await kit;
    wasmModule = k.module;
    list = Array.isArray(k.samples) ? k.samples : [];
  } else {
    [wasmModule, list] = await Promise.all([compileModule(), loadSampleFiles()]);
  }
  await init({ module_or_path: wasmModule });
  samples = list;
  return samples.map(({ id, info, files, workshop }) => ({
    id,
    name: String(info.name ?? 'Sample network'),
    description: String(info.description ?? ''),
    files: files.map((f) => f.name),
    questions: Array.isArray(info.questions) ? info.questions : [],
    workshop,
  }));
})();

started.then(
  (list) => postMessage({ type: 'ready', samples: list }),
  (e) => postMessage({ type: 'fatal', error: String(e && e.message ? e.message : e) }),
);

function open(files) {
  const inputs = files.map((f) => ({ name: String(f.name), bytes: new Uint8Array(f.bytes), manifest: f.manifest === true }));
  const next = new Session(inputs);
  if (session) session.free();
  session = next;
  return session.parse_report();
}

function sourceLines(file, line, context) {
  if (!session) throw new Error('no files are loaded');
  const from = Math.max(1, line - context);
  const lines = [];
  for (let n = from; n <= line + context; n++) {
    const text = session.source_line(file, n);
    if (text === undefined) {
      if (n < line) continue;
      break;
    }
    lines.push({ line: n, text });
  }
  return lines;
}

/** A port number from a message: an integer 0–65535, or an error naming `what`. */
function portNumber(v, what) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`the ${what} must be a number between 0 and 65535`);
  return n;
}

const origins = (list) => (Array.isArray(list) ? list.map(String) : []);

const handlers = {
  load: (m) => open(m.files || []),
  loadSample: (m) => {
    const s = samples.find((x) => x.id === String(m.sample)) ?? (m.sample === undefined ? samples[0] : null);
    if (!s) throw new Error(`there is no sample network ${String(m.sample)}`);
    return open(s.files);
  },
  query: (m) => {
    if (!session) throw new Error('Load some files first.');
    return session.query(String(m.from), String(m.to), String(m.proto), m.port ? String(m.port) : undefined);
  },
  analyze: (m) => {
    if (!session) throw new Error('Load some files first.');
    return session.analyze(origins(m.origins));
  },
  export: (m) => {
    if (!session) throw new Error('Load some files first.');
    return session.export(String(m.format), origins(m.origins));
  },
  figures: (m) => {
    if (!session) throw new Error('Load some files first.');
    return session.figures(origins(m.origins));
  },
  responsibilities: (m) => {
    if (!session) throw new Error('Load some files first.');
    return session.responsibilities(origins(m.origins));
  },
  map: (m) => {
    if (!session) throw new Error('Load some files first.');
    return session.map(Array.isArray(m.origins) ? origins(m.origins) : undefined, Array.isArray(m.expanded) ? m.expanded.map(String) : undefined);
  },
  source: (m) => sourceLines(m.file >>> 0, m.line >>> 0, Math.min(m.context >>> 0, 20)),
  whatif: (m) => {
    if (!session) throw new Error('Load some files first.');
    return session.whatif(Array.isArray(m.edits) ? m.edits : [], origins(m.origins));
  },
  matrix: (m) => {
    if (!session) throw new Error('Load some files first.');
    const sport = m.sport === null || m.sport === undefined ? undefined : portNumber(m.sport, 'source port');
    const device = typeof m.device === 'string' && m.device !== '' ? m.device : undefined;
    return session.matrix(String(m.proto), portNumber(m.port, 'port'), sport, device, m.toDevice === true);
  },
  kit: () => ({ module: wasmModule, samples }),
  unzip: (m) => readZip(new Uint8Array(m.bytes), String(m.name)),
  sampleFiles: (m) => {
    const s = samples.find((x) => x.id === String(m.sample));
    if (!s) throw new Error(`there is no sample network ${String(m.sample)}`);
    return s.files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes), manifest: f.manifest }));
  },
};

self.onmessage = async (ev) => {
  const m = ev.data || {};
  if (m.type === 'kit' && kitGiven && m.id === undefined) {
    kitGiven(m);
    kitGiven = null;
    return;
  }
  const handler = Object.hasOwn(handlers, m.type) ? handlers[m.type] : null;
  if (!handler) {
    postMessage({ id: m.id, ok: false, error: `unknown request ${String(m.type)}` });
    return;
  }
  try {
    await started;
    if (broken) throw new Error(broken);
    const t0 = performance.now();
    const result = handler(m);
    postMessage({ id: m.id, ok: true, result, ms: performance.now() - t0 });
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) {
      broken = 'Portolan stopped on an internal error (details in the browser console). Reload the page to start again.';
      console.error(e);
      postMessage({ id: m.id, ok: false, error: broken });
      return;
    }
    postMessage({ id: m.id, ok: false, error: String(e && e.message ? e.message : e) });
  }
};
