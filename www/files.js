// The inputs the page holds, on the UI thread: every file given (zip archives opened into their
// files by the worker, keeping their folders), so one can be removed or replaced and the set
// analysed again, and so that the whole set can be saved as a session. Entries of an archive
// that could not be read are listed in the files table with their reason.

let api = null; // {call, h, setStatus, shown(result, ms)}: main.js's helpers (shown: the parse report drawn)
let held = { files: [], problems: [] }; // files: [{name, bytes: Uint8Array, manifest}]; problems: [{name, message}]
let generation = 0;

export function installFiles(helpers) {
  api = helpers;
}

/** The files held now (their bytes are not copied: do not change them). */
export function heldInputs() {
  return { files: held.files.slice(), problems: held.problems.slice() };
}

// Zip archives start with a local header (or, empty, with the end record).
const looksZip = (b) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && ((b[2] === 3 && b[3] === 4) || (b[2] === 5 && b[3] === 6));

/** Files as given (`[{name, bytes}]`), zip archives replaced by their files (read by the worker). */
async function expand(given) {
  const files = [];
  const problems = [];
  for (const f of given) {
    const bytes = f.bytes instanceof Uint8Array ? f.bytes : new Uint8Array(f.bytes);
    if (!looksZip(bytes)) {
      files.push({ name: String(f.name), bytes, manifest: f.manifest === true });
      continue;
    }
    const { result } = await api.call('unzip', { name: String(f.name), bytes });
    for (const e of result.files) files.push({ name: e.name, bytes: e.bytes, manifest: false });
    problems.push(...result.problems);
  }
  return { files, problems };
}

// The worker gets copies, so the page keeps the bytes; the manifest given apart goes last, where
// the core lists it, so rows and files keep the same order.
function parse(set) {
  const ordered = [...set.files.filter((f) => !f.manifest), ...set.files.filter((f) => f.manifest)];
  held = { files: ordered, problems: set.problems };
  generation++;
  const copies = ordered.map((f) => ({ name: f.name, bytes: f.bytes.slice().buffer, manifest: f.manifest }));
  return api.call('load', { files: copies }, copies.map((c) => c.bytes));
}

/** Open archives among `given`, keep the files and parse them: the worker's answer ({result, ms}). */
export async function loadGiven(given) {
  return parse(await expand(given));
}

/** Parse a set of files already expanded (a saved session): the worker's answer. */
export function loadHeld(files, problems = []) {
  return parse({ files, problems });
}

/** When a sample is loaded (before it is shown): keep its files, so it can be edited and saved like any other set. */
export async function adoptSample(id) {
  const { result } = await api.call('sampleFiles', { sample: id });
  generation++;
  held = { files: [...result.filter((f) => !f.manifest), ...result.filter((f) => f.manifest)], problems: [] };
}

async function reparse(next, done) {
  api.setStatus(`Parsing ${next.files.length} files again…`, 'working');
  try {
    const { result, ms } = await parse(next);
    api.shown(result, ms);
    const status = document.getElementById('status');
    status.textContent = `${done} ${status.textContent}`;
  } catch (e) {
    api.setStatus(`Could not load the files: ${e.message}`, 'error');
  }
}

function remove(i) {
  const f = held.files[i];
  if (!f) return;
  reparse({ files: held.files.filter((_, j) => j !== i), problems: held.problems }, `Removed ${f.name}.`);
}

// The new contents take the old path (its folder places it in a device); an archive chosen as the
// replacement stands in for the file with all of its files.
async function replace(i, file) {
  const f = held.files[i];
  if (!f || !file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  const got = looksZip(bytes) ? await expand([{ name: file.name, bytes }]) : { files: [{ name: f.name, bytes, manifest: f.manifest }], problems: [] };
  const files = [...held.files.slice(0, i), ...got.files, ...held.files.slice(i + 1)];
  reparse({ files, problems: [...held.problems, ...got.problems] }, `Replaced ${f.name} with ${file.name}.`);
}

const picker = (() => {
  let input = null;
  return (onPick) => {
    if (!input) {
      input = document.createElement('input');
      input.type = 'file';
      input.id = 'replace-input';
      input.className = 'visually-hidden';
      input.tabIndex = -1;
      document.body.appendChild(input);
    }
    input.onchange = () => {
      const file = input.files[0];
      input.value = '';
      if (file) onPick(file);
    };
    input.click();
  };
})();

/**
 * Called when the files table is drawn: each row gets Remove and Replace, and the archive entries
 * that were not read follow as rows of their own.
 */
export function decorateInputs(body) {
  const { h } = api;
  const rows = [...body.rows].filter((r) => !r.classList.contains('diag-row'));
  if (rows.length !== held.files.length) return; // a set the page does not hold (never expected)
  rows.forEach((row, i) => {
    const name = held.files[i].name;
    row.appendChild(
      h(
        'td',
        { class: 'file-actions' },
        h('button', { type: 'button', class: 'button small-button file-replace', title: `Replace the contents of ${name} with another file (or an archive's files)`, onclick: () => picker((file) => replace(i, file)) }, 'Replace'),
        h('button', { type: 'button', class: 'button small-button file-remove', title: `Remove ${name} and analyse again`, onclick: () => remove(i) }, 'Remove'),
      ),
    );
  });
  for (const p of held.problems) {
    const cut = p.name.lastIndexOf('/');
    body.appendChild(
      h(
        'tr',
        { class: 'problem-row status-row-failed' },
        h('td', { class: 'path', title: p.name }, cut < 0 ? h('span', { class: 'fname' }, p.name) : [h('span', { class: 'fname' }, p.name.slice(cut + 1)), h('span', { class: 'dir' }, p.name.slice(0, cut + 1))]),
        h('td', { class: 'format' }, 'zip archive'),
        h('td', { class: 'col-device' }, h('span', { class: 'muted' }, '—')),
        h('td', null, h('span', { class: 'pill status-failed' }, 'not read')),
        h('td', { class: 'problem-text', colspan: '3' }, p.message),
      ),
    );
  }
  if (held.problems.length) document.getElementById('status').textContent += problemsNote();
}

/** A sentence for the status line about archive entries not read, or ''. */
export function problemsNote() {
  const n = held.problems.length;
  return n === 0 ? '' : ` ${n} archive ${n === 1 ? 'entry was' : 'entries were'} not read: see Files.`;
}
