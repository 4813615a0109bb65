// The worker owns the WebAssembly module: it loads it once, keeps the sample networks' files in
// memory, and runs every parse and query so the page never blocks. Messages carry ids:
//   page → worker  {type: 'boot', base: URL, embed: string | null}  first, to the first worker
//                  {type: 'kit', module: WebAssembly.Module, samples} first, to every later one
//                  {id, type: 'load', files: [{name, bytes: ArrayBuffer}]}
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
//   worker → page  {id, ok: true, result, ms} | {id, ok: false, error}
//                  {type: 'ready', samples: [{id, name, description, files, questions, workshop}],
//                     kit: {module, samples}} once, or {type: 'fatal', error}
//
// The page runs this script from a Blob of its own text (scripts/build-www.sh bundles it into
// index.html), so starting another worker after Cancel fetches nothing. The first worker, booted,
// fetches the module and every sample's files from `base` during start-up (or decodes them from
// `embed`, the single-file build's {wasm: base64, files: {'samples/…': base64}}); it sends the
// compiled module and the samples back with 'ready', and the page hands that kit to each later
// worker, which therefore makes no request either.

import init, { FileLoader } from './pkg/portolan.js';
import { readZip } from './zip.js';

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

let session = null;
let samples = []; // [{id, info, files: [{name, bytes, manifest}]}], in the order of samples/index.json
let broken = null; // set when the module trapped: its memory can no longer be trusted

// The page's own files: fetched from the page's folder, or decoded from the embedded copy.
function pageFiles(base, embed) {
  const here = embed ? new URL('file:///portolan/') : new URL(base);
  return async (path, as) => {
    const url = new URL(path.split('/').map(encodeURIComponent).join('/'), here);
    if (embed) {
      const key = decodeURIComponent(url.pathname.replace(/^\/portolan\//, ''));
      if (!Object.hasOwn(embed.files, key)) throw new Error(`${key} is not in this page`);
      const bytes = fromBase64(embed.files[key]);
      return as === 'json' ? JSON.parse(new TextDecoder().decode(bytes)) : bytes.buffer;
    }
    return fetchOk(url, as);
  };
}

async function fetchOk(url, as) {
  const resp = await fetch(url, { credentials: 'same-origin' });
  if (!resp.ok) throw new Error(`${url}: ${resp.status} ${resp.statusText}`);
  return as === 'json' ? resp.json() : resp.arrayBuffer();
}

// Every sample's files are fetched during start-up, so loading one later needs no request. A
// sample's `manifest` (optional) is read as its manifest whatever other manifest it has, as the
// CLI's --manifest. Samples that share files fetch them once.
async function loadSampleFiles(read) {
  const index = await read('samples/index.json', 'json');
  const list = Array.isArray(index.samples) ? index.samples.filter((s) => s && typeof s === 'object') : [];
  const fetched = new Map();
  const bytesOf = (name) => {
    if (!fetched.has(name)) fetched.set(name, read(`samples/${name}`));
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
      const workshop = typeof info.workshop === 'string' ? await read(`samples/${info.workshop}`, 'json') : null;
      return { id: String(info.id ?? `sample-${n + 1}`), info, files, workshop };
    }),
  );
}

// The first message says where the module and the samples come from: 'boot' (fetch or decode
// them) or 'kit' (another worker's compiled module and samples, so nothing is fetched).
let bootWith = null;
const bootMessage = new Promise((resolve) => (bootWith = resolve));
let wasmModule = null;

async function boot(m) {
  if (m.type === 'kit') {
    if (!(m.module instanceof WebAssembly.Module)) throw new Error('the page gave no compiled module');
    return [m.module, Array.isArray(m.samples) ? m.samples : []];
  }
  const embed = typeof m.embed === 'string' ? JSON.parse(m.embed) : null;
  if (!embed && typeof m.base !== 'string') throw new Error('the page gave no address to load the analyzer from');
  const read = pageFiles(m.base, embed);
  const compile = async () => WebAssembly.compile(embed ? fromBase64(embed.wasm) : await read('pkg/portolan_bg.wasm'));
  return Promise.all([compile(), loadSampleFiles(read)]);
}

const started = (async () => {
  let list;
  [wasmModule, list] = await boot(await bootMessage);
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
  (list) => postMessage({ type: 'ready', samples: list, kit: { module: wasmModule, samples } }),
  (e) => postMessage({ type: 'fatal', error: String(e && e.message ? e.message : e) }),
);

/**
 * Read the files one at a time, telling the page which one (a `progress` message for request
 * `id`: the page's messages arrive while this goes on), then assemble the network.
 */
function open(files, id) {
  const loader = new FileLoader();
  try {
    files.forEach((f, i) => {
      postMessage({ type: 'progress', id, done: i, total: files.length, name: String(f.name) });
      loader.read({ name: String(f.name), bytes: new Uint8Array(f.bytes), manifest: f.manifest === true });
    });
  } catch (e) {
    loader.free();
    throw e;
  }
  postMessage({ type: 'progress', id, done: files.length, total: files.length, name: null });
  const next = loader.finish();
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
  load: (m) => open(m.files || [], m.id),
  loadSample: (m) => {
    const s = samples.find((x) => x.id === String(m.sample)) ?? (m.sample === undefined ? samples[0] : null);
    if (!s) throw new Error(`there is no sample network ${String(m.sample)}`);
    return open(s.files, m.id);
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
  rule: (m) => {
    if (!session) throw new Error('no files are loaded');
    const file = m.file >>> 0;
    const line = m.line >>> 0;
    const count = session.rule_span(file, line);
    const lines = [];
    for (let n = line; n < line + count; n++) {
      const text = session.source_line(file, n);
      if (text === undefined) break;
      lines.push(text);
    }
    return { count: lines.length, text: lines.join('\n') };
  },
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
  unzip: (m) => readZip(new Uint8Array(m.bytes), String(m.name)),
  sampleFiles: (m) => {
    const s = samples.find((x) => x.id === String(m.sample));
    if (!s) throw new Error(`there is no sample network ${String(m.sample)}`);
    return s.files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes), manifest: f.manifest }));
  },
};

self.onmessage = async (ev) => {
  const m = ev.data || {};
  if ((m.type === 'boot' || m.type === 'kit') && m.id === undefined) {
    if (bootWith) bootWith(m);
    bootWith = null;
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
