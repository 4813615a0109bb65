// Sessions: the page's inputs saved to one file the user downloads, and read back to the same
// state — every file (name, folder path, bytes, which one is the manifest given apart), the
// archive entries that were not read, the sample it came from, the origins analysed and the
// what-if edits. Nothing is kept anywhere else: no storage of the browser is used.
//
// The file is JSON: {"portolan_session": 1, "saved": ISO time, "sample": id | null,
//   "origins": [string], "files": [{"name", "manifest", "base64"}], "problems": [{"name",
//   "message"}], "whatif": [edit]}. A file of a later format, or one that does not hold what
// the format says, is refused with a message saying what is wrong.

import { heldInputs, loadHeld } from './files.js';
import { currentEdits, restoreEdits } from './whatif.js';

export const FORMAT = 1;
const MAX_FILES = 5000;

let api = null; // {call, h, setStatus, current() → {sample, origins}, restored(result, ms, sample, origins)}

export function installSession(helpers) {
  api = helpers;
}

function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The session as the text of its file. */
export function sessionText() {
  const { files, problems } = heldInputs();
  const { sample, origins } = api.current();
  const doc = {
    portolan_session: FORMAT,
    saved: new Date().toISOString(),
    sample,
    origins,
    files: files.map((f) => ({ name: f.name, manifest: f.manifest, base64: toBase64(f.bytes) })),
    problems,
    whatif: currentEdits(),
  };
  return `${JSON.stringify(doc, null, 1)}\n`;
}

export function saveSession() {
  const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  const url = URL.createObjectURL(new Blob([sessionText()], { type: 'application/json;charset=utf-8' }));
  const a = api.h('a', { href: url, download: `portolan-session-${stamp}.json`, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Read and check a session file's text: `{sample, origins, files, problems, whatif}`, or throws
 * an Error whose message says what is wrong.
 */
export function parseSession(text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`it is not valid JSON (${e.message})`);
  }
  if (!isObject(doc) || !('portolan_session' in doc)) throw new Error('it is not a Portolan session (no "portolan_session" format number)');
  const v = doc.portolan_session;
  if (!Number.isInteger(v) || v < 1) throw new Error(`its format number ${JSON.stringify(v)} is not a format of Portolan sessions`);
  if (v > FORMAT) throw new Error(`it was saved in session format ${v} by a newer Portolan; this page reads format ${FORMAT}`);
  if (!Array.isArray(doc.files)) throw new Error('"files" is missing or not a list');
  if (doc.files.length > MAX_FILES) throw new Error(`it holds ${doc.files.length} files, more than the ${MAX_FILES} a session may hold`);
  const files = doc.files.map((f, i) => {
    const where = `file ${i + 1}`;
    if (!isObject(f) || typeof f.name !== 'string' || f.name === '') throw new Error(`${where} has no name`);
    if (typeof f.base64 !== 'string') throw new Error(`${where} (${f.name}) has no contents ("base64")`);
    if (f.manifest !== undefined && typeof f.manifest !== 'boolean') throw new Error(`${where} (${f.name}): "manifest" must be true or false`);
    let bytes;
    try {
      bytes = fromBase64(f.base64);
    } catch {
      throw new Error(`the contents of ${where} (${f.name}) are not valid base64`);
    }
    return { name: f.name, bytes, manifest: f.manifest === true };
  });
  if (files.filter((f) => f.manifest).length > 1) throw new Error('more than one file is marked as the manifest');
  const strings = (key) => {
    const list = doc[key] ?? [];
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new Error(`"${key}" must be a list of text`);
    return list;
  };
  const origins = strings('origins');
  const problems = doc.problems ?? [];
  if (!Array.isArray(problems) || !problems.every((p) => isObject(p) && typeof p.name === 'string' && typeof p.message === 'string')) {
    throw new Error('"problems" must be a list of {name, message}');
  }
  const whatif = doc.whatif ?? [];
  if (!Array.isArray(whatif) || !whatif.every((e) => isObject(e) && typeof e.edit === 'string')) throw new Error('"whatif" must be a list of edits, each with its "edit" kind');
  if (doc.sample !== undefined && doc.sample !== null && typeof doc.sample !== 'string') throw new Error('"sample" must be a sample id or null');
  return { sample: doc.sample ?? null, origins, files, problems: problems.map((p) => ({ name: p.name, message: p.message })), whatif };
}

// A session file among the files given: JSON that names the session format near its start.
export function looksLikeSession(bytes) {
  const head = new TextDecoder().decode(bytes.subarray(0, 64));
  return /^\s*\{\s*"portolan_session"\s*:/.test(head);
}

/** Read a session file's bytes and bring the page to its state; a message on failure. */
export async function openSession(name, bytes) {
  let s;
  try {
    s = parseSession(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    api.setStatus(`${name} could not be opened as a session: ${e.message}.`, 'error');
    return false;
  }
  api.setStatus(`Opening the session ${name}: ${s.files.length} files…`, 'working');
  try {
    const { result, ms } = await loadHeld(s.files, s.problems);
    api.restored(result, ms, s.sample, s.origins.join(', '));
    const status = document.getElementById('status');
    status.textContent = `Session ${name} opened. ${status.textContent}`;
    if (s.whatif.length) await restoreEdits(s.whatif);
  } catch (e) {
    api.setStatus(`Could not open the session ${name}: ${e.message}`, 'error');
  }
  return true;
}

/** When exactly one file is given and it is a session, open it instead of analysing it: true. */
export async function openIfSession(given) {
  if (given.length !== 1) return false;
  const bytes = given[0].bytes instanceof Uint8Array ? given[0].bytes : new Uint8Array(given[0].bytes);
  if (!looksLikeSession(bytes)) return false;
  return openSession(given[0].name, bytes);
}
