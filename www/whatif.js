// What-if: edits to the inputs made from the views (delete a rule, change its action, rewrite its
// source line, close a service on a host), sent to the worker, which makes them on a copy of the inputs, analyses it
// again and compares (the core's whatif::compare and report::diff). This module keeps the list of
// edits, shows what they add and remove, undoes them, and exports the list with its effect as JSON.

let api = null; // {call, h, clear, setStatus, origins() → the origins of the analysis shown, fileIndex(path)}
let edits = []; // [{edit, ...fields}] in the order made
let last = null; // the worker's comparison for `edits`: {edits, unmatched, reread, diff, after}
let seq = 0;
let pending = false; // edits restored before the analysis they apply to is ready

const PROTO = { tcp: 6, udp: 17, sctp: 132 };
const KIND = { 'delete-rule': 'delete rule', 'set-action': 'change action', 'replace-lines': 'edit rule', 'close-port': 'close service', 'patch-service': 'patch service', patch: 'patch' };
const ON_RULE = new Set(['delete-rule', 'set-action', 'replace-lines']);

export function installWhatif(helpers) {
  api = helpers;
  const $ = (id) => document.getElementById(id);
  $('whatif-undo').addEventListener('click', () => change(edits.slice(0, -1)));
  $('whatif-clear').addEventListener('click', () => change([]));
  $('whatif-export').addEventListener('click', exportChanges);
}

/** The edits made so far (for a saved session). */
export function currentEdits() {
  return edits.map((e) => ({ ...e }));
}

/** New inputs: the edits referred to the old ones. */
export function whatifReset() {
  edits = [];
  last = null;
  pending = false;
  seq++;
  render();
}

/** Edits read from a session, compared once the analysis of the session's inputs is shown. */
export function restoreEdits(list) {
  edits = list.map((e) => ({ ...e }));
  pending = true;
  render();
}

/** The analysis was run again (other origins, or new inputs): compare the edits again. */
export function whatifRefresh() {
  if (edits.length === 0) return;
  pending = false;
  compute();
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function add(edit) {
  if (edits.some((e) => same(e, edit))) return;
  // A rule's later edit replaces its earlier one: one rule has one fate.
  const onRule = (e) => ON_RULE.has(e.edit) && e.file === edit.file && e.line === edit.line;
  const kept = ON_RULE.has(edit.edit) ? edits.filter((e) => !onRule(e)) : edits;
  change([...kept, edit]);
  const card = document.getElementById('whatif-card');
  card.scrollIntoView({ block: 'start', behavior: 'auto' });
  // The button that made the change may be gone with the view redrawn: the focus goes on in the
  // what-if card, where the change is listed.
  const heading = document.getElementById('whatif-title');
  if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
  heading.focus({ preventScroll: true });
}

function change(next) {
  edits = next;
  if (edits.length === 0) {
    last = null;
    seq++;
    render();
    return;
  }
  compute();
}

async function compute() {
  const mine = ++seq;
  const list = currentEdits();
  render(true);
  try {
    const { result, ms } = await api.call('whatif', { edits: list, origins: api.origins() });
    if (mine !== seq) return;
    last = { ...result, ms };
  } catch (e) {
    if (mine !== seq) return;
    // Cancelled: the page says so once (the status line); keep what was shown.
    if (e?.name === 'Cancelled') return;
    last = { error: e.message };
  }
  render();
}

// ---------------------------------------------------------------------------------------------
// Actions shown in the other views.

/** Buttons for a rule (`{file, line, action}`) shown in a path or finding: what if it went? */
export function ruleActions(rule) {
  const { h } = api;
  if (!rule || !rule.file || !rule.line) return null;
  const at = { file: rule.file, line: rule.line };
  const acts = String(rule.action || '').toLowerCase();
  const box = h('span', { class: 'wi-actions' });
  const open = h(
    'button',
    {
      type: 'button',
      class: 'linklike wi-open',
      title: `What if the rule at ${rule.file}:${rule.line} changed? See what it changes in the analysis`,
      onclick: () => {
        open.remove();
        box.append(
          h('span', { class: 'wi-label' }, 'What if:'),
          h('button', { type: 'button', class: 'button small-button wi-delete', onclick: () => add({ edit: 'delete-rule', ...at }) }, 'delete rule'),
          /accept|allow|permit/.test(acts) ? null : h('button', { type: 'button', class: 'button small-button wi-accept', onclick: () => add({ edit: 'set-action', ...at, action: 'accept' }) }, 'make it accept'),
          /drop|deny/.test(acts) ? null : h('button', { type: 'button', class: 'button small-button wi-drop', onclick: () => add({ edit: 'set-action', ...at, action: 'drop' }) }, 'make it drop'),
          api.fileIndex(rule.file) === undefined ? null : h('button', { type: 'button', class: 'button small-button wi-rewrite', onclick: (ev) => rewriteForm(box, at, ev.currentTarget) }, 'edit rule…'),
        );
      },
    },
    'what if…',
  );
  box.appendChild(open);
  return box;
}

let formSeq = 0;

/**
 * The rule's source in a text box, to change its conditions: its line, or the whole block it opens
 * (a FortiGate `edit` to `next`, a Junos policy, a PAN-OS or pfSense XML rule). The new text
 * replaces those lines in a copy of the file, which the core reads again (edit `replace-lines`),
 * whatever the vendor.
 */
async function rewriteForm(box, at, button) {
  const { h, call } = api;
  const file = api.fileIndex(at.file);
  let current;
  let count;
  try {
    const { result } = await call('rule', { file, line: at.line });
    ({ text: current, count } = result);
  } catch (e) {
    if (e?.name !== 'Cancelled') api.setStatus(`Could not read ${at.file}:${at.line}: ${e.message}`, 'error');
    return;
  }
  if (!count) return;
  button.disabled = true;
  const id = `wi-rewrite-${++formSeq}`;
  const rows = String(Math.min(count + 1, 14));
  const area = h('textarea', { id, class: 'wi-rewrite-text', rows, spellcheck: 'false', autocomplete: 'off' });
  area.value = current;
  const form = h(
    'form',
    {
      class: 'wi-rewrite-form',
      onsubmit: (ev) => {
        ev.preventDefault();
        if (area.value === current) {
          area.setCustomValidity('Change the text first: it is the rule as it is.');
          area.reportValidity();
          return;
        }
        add({ edit: 'replace-lines', ...at, count, text: area.value });
      },
    },
    h('label', { for: id }, count > 1 ? `The rule at ${at.file}:${at.line}–${at.line + count - 1}, as it would be written` : `The rule at ${at.file}:${at.line}, as it would be written`),
    area,
    h(
      'span',
      { class: 'wi-rewrite-actions' },
      h('button', { type: 'submit', class: 'button small-button primary wi-try' }, 'Try it'),
      h(
        'button',
        {
          type: 'button',
          class: 'button small-button wi-rewrite-cancel',
          onclick: () => {
            form.remove();
            button.disabled = false;
            button.focus();
          },
        },
        'Cancel',
      ),
    ),
  );
  area.addEventListener('input', () => area.setCustomValidity(''));
  box.after(form);
  area.focus();
}

/** A button that closes one service (`proto`/`port` on `addr`), or null when there is no single port. */
export function serviceAction(addr, proto, port) {
  const { h } = api;
  const p = String(port ?? '');
  const ip = String(addr ?? '');
  const single = /^(\d{1,3}\.){3}\d{1,3}$/.test(ip) || (ip.includes(':') && /^[0-9a-f:.]+$/i.test(ip));
  if (!(proto in PROTO) || !/^\d{1,5}$/.test(p) || Number(p) > 65535 || !single) return null;
  const edit = { edit: 'close-port', addr: ip, proto: PROTO[proto], port: Number(p) };
  return h(
    'button',
    { type: 'button', class: 'button small-button wi-close', title: `What if ${proto}/${p} no longer listened on ${addr}? See what it changes`, onclick: () => add(edit) },
    `What if ${proto}/${p} on ${addr} closed`,
  );
}

// ---------------------------------------------------------------------------------------------
// The what-if card.

function exportChanges() {
  if (!last || last.error) return;
  const { ms: _ms, ...doc } = last;
  const url = URL.createObjectURL(new Blob([`${JSON.stringify(doc, null, 2)}\n`], { type: 'application/json;charset=utf-8' }));
  const a = api.h('a', { href: url, download: 'portolan-whatif.json', hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const service = (e) => (e.ports !== undefined ? (e.ports ? `${e.proto}/${e.ports}` : e.proto) : `${e.proto}/${e.port}`);

function render(working = false) {
  const { h, clear } = api;
  const card = document.getElementById('whatif-card');
  const list = clear(document.getElementById('whatif-edits'));
  const out = clear(document.getElementById('whatif-diff'));
  card.hidden = edits.length === 0;
  document.getElementById('whatif-count').textContent = edits.length ? String(edits.length) : '';
  document.getElementById('whatif-undo').disabled = edits.length === 0;
  document.getElementById('whatif-clear').disabled = edits.length === 0;
  document.getElementById('whatif-export').disabled = working || pending || !last || !!last.error;
  if (edits.length === 0) return;
  const described = new Map((last && !last.error ? last.edits : []).map((d, i) => [i, d.description]));
  const unmatched = last && !last.error ? last.unmatched : [];
  const reread = last && !last.error && Array.isArray(last.reread) ? last.reread : [];
  edits.forEach((e, i) => {
    const text = described.get(i) ?? describe(e);
    const why = unmatched.find((u) => u.startsWith(`${text}:`));
    const missed = why !== undefined;
    // What the reader said about a rewritten line it did not fully understand.
    const diags = e.edit === 'replace-lines' ? (reread.find((r) => r.file === e.file && r.line === e.line)?.diagnostics ?? []) : [];
    list.appendChild(
      h(
        'li',
        { class: `wi-edit${missed ? ' wi-missed' : ''}` },
        h('span', { class: 'tag edit-kind' }, KIND[e.edit] ?? e.edit),
        h('span', { class: 'wi-what' }, text),
        missed ? h('span', { class: 'wi-miss' }, ` — ${why.slice(text.length + 1).trim() || 'matches nothing in the inputs'}`) : null,
        h('button', { type: 'button', class: 'linklike wi-remove', title: 'Take this change back', onclick: () => change(edits.filter((_, j) => j !== i)) }, 'undo'),
        diags.length
          ? h(
              'div',
              { class: 'wi-reread', role: 'note' },
              h('p', null, `The ${diags.length === 1 ? 'reader says' : `reader says ${diags.length} things`} about the new text; the rule is used as it understood it:`),
              h(
                'ul',
                { class: 'wi-diags' },
                diags.map((d) => h('li', null, h('code', { class: 'code' }, d.code), ` line ${d.line}: ${d.reason}`, d.text ? [' — ', h('code', null, d.text)] : null)),
              ),
            )
          : null,
      ),
    );
  });
  if (working || pending) {
    out.appendChild(h('p', { class: 'working' }, 'Analysing the inputs with these changes…'));
    return;
  }
  if (!last) return;
  if (last.error) {
    out.appendChild(h('div', { class: 'notice error', role: 'alert' }, h('p', { class: 'notice-title' }, 'The changes could not be analysed'), h('p', { class: 'notice-body' }, last.error)));
    return;
  }
  const d = last.diff;
  const a = last.after;
  out.appendChild(
    h(
      'p',
      { class: 'wi-summary' },
      `With ${edits.length === 1 ? 'this change' : `these ${edits.length} changes`}: ${plural(a.exposures, 'exposure')}, ${plural(a.attack_paths, 'attack path')}, ${plural(a.findings, 'finding')}, ${plural(a.violations, 'policy violation')} (analysed again in ${Math.round(last.ms)} ms).`,
    ),
  );
  const none = [d.exposures_added, d.exposures_removed, d.paths_added, d.paths_removed, d.findings_added, d.findings_removed, d.violations_added, d.violations_removed].every((x) => x.length === 0);
  if (none) {
    out.appendChild(h('p', { class: 'wi-nochange' }, 'Nothing changes: no exposure, attack path, finding or policy violation is added or removed.'));
    return;
  }
  const section = (cls, title, items, row) => (items.length ? h('section', { class: `wi-section ${cls}` }, h('h3', null, `${title} (${items.length})`), h('ul', null, items.map((x) => h('li', null, row(x))))) : null);
  const expRow = (x) => [
    h('span', { class: 'wi-origin' }, x.exposure.origin),
    ' → ',
    h('span', { class: 'ip' }, x.exposure.ip),
    x.exposure.host ? [' ', h('span', { class: 'host' }, x.exposure.host)] : null,
    ' ',
    h('code', null, x.changed_ports ? `${x.exposure.proto}/${x.changed_ports}` : x.exposure.proto),
    ' ',
    h('span', { class: `cert cert-${x.exposure.certainty}` }, x.exposure.certainty),
  ];
  const pathRow = (p) => [
    h('span', { class: 'wi-origin' }, p.origin),
    p.steps.map((s) => [' → ', h('span', { class: 'ip' }, s.to_name ? `${s.to_name} (${s.to})` : s.to), ' ', h('code', null, service(s))]),
  ];
  const findingRow = (f) => [h('code', { class: 'code' }, f.code), ' ', h('span', { class: 'wi-device' }, f.device), ' — ', f.message];
  const violationRow = (v) => [h('code', { class: 'code' }, v.id), ' ', v.kind, v.witness ? [' — ', h('code', null, `${v.witness.src} → ${v.witness.dst} ${v.witness.proto}${v.witness.port ? `/${v.witness.port}` : ''}`)] : null];
  out.append(
    ...[
      section('wi-removed', 'Exposures removed', d.exposures_removed, expRow),
      section('wi-added', 'Exposures added', d.exposures_added, expRow),
      section('wi-removed', 'Attack paths cut', d.paths_removed, pathRow),
      section('wi-added', 'Attack paths opened', d.paths_added, pathRow),
      section('wi-removed', 'Findings resolved', d.findings_removed, findingRow),
      section('wi-added', 'New findings', d.findings_added, findingRow),
      section('wi-removed', 'Policy violations resolved', d.violations_removed, violationRow),
      section('wi-added', 'New policy violations', d.violations_added, violationRow),
    ].filter(Boolean),
  );
}

// Until the worker has described an edit, it reads from its fields.
function describe(e) {
  switch (e.edit) {
    case 'delete-rule':
      return `delete the rule at ${e.file}:${e.line}`;
    case 'set-action':
      return `make the rule at ${e.file}:${e.line} ${e.action}`;
    case 'replace-lines':
      return `rewrite ${e.file}:${e.line} as ${JSON.stringify(String(e.text ?? ''))}`;
    case 'close-port': {
      const name = Object.keys(PROTO).find((k) => PROTO[k] === e.proto) ?? String(e.proto);
      return `close ${name}/${e.port} on ${e.addr}`;
    }
    default:
      return String(e.edit);
  }
}
