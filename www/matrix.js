// The Service matrix view: for one firewall and one port, the classes of addresses the rules treat
// alike and which class may open connections to which (src/matrix/, `portolan matrix`). It only
// presents what the worker's `matrix` requests return, the ServiceMatrix of
// `portolan matrix --json`; text from inputs goes in as text only.
//
// The grid has rows for the class a connection comes from and columns for the class it goes to;
// a cell is "allowed" (lower bound), "possibly allowed" (upper bound only: it depends on rule parts
// that are not modelled) or blank.

import { clear, formatMs, h, plural } from './dom.js';

const STATE = {
  allowed: { mark: '●', label: 'allowed' },
  possible: { mark: '◐', label: 'possibly allowed' },
};

/** A port field's value: an integer 0–65535, null when empty, or undefined when invalid. */
function portValue(text) {
  const t = text.trim();
  if (t === '') return null;
  if (!/^\d{1,5}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= 65535 ? n : undefined;
}

/** The state of every pair: `from,to` → 'allowed' | 'possible'. */
export function pairStates(m) {
  const states = new Map();
  const definite = Array.isArray(m.allowed_definite) ? m.allowed_definite : m.allowed;
  for (const [a, b] of m.allowed) states.set(`${a},${b}`, 'possible');
  for (const [a, b] of definite) states.set(`${a},${b}`, 'allowed');
  return states;
}

/**
 * The "Service matrix" card. `card` is its empty section, `call(type, payload)` asks the worker.
 * Returns {reset(parseReport)}: new inputs were loaded.
 */
export function createMatrix({ card, call }) {
  let seq = 0; // answers about earlier inputs or earlier questions are dropped
  let shown = null; // the ServiceMatrix shown

  const field = (id, label, control, cls = '') => h('div', { class: `field ${cls}`.trim(), id: `${id}-field` }, h('label', { for: id }, label), control);
  const deviceSelect = h('select', { id: 'mx-device' });
  const protoSelect = h('select', { id: 'mx-proto' }, h('option', { value: 'tcp' }, 'TCP'), h('option', { value: 'udp' }, 'UDP'));
  const portInput = h('input', { id: 'mx-port', inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false', placeholder: '22', required: true, 'aria-describedby': 'mx-hint' });
  const sportInput = h('input', { id: 'mx-sport', inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false', placeholder: 'any', 'aria-describedby': 'mx-hint' });
  const radio = (value, text, checked) =>
    h('label', { class: 'mx-radio' }, h('input', { type: 'radio', name: 'mx-direction', value, checked, id: `mx-dir-${value}` }), ` ${text}`);
  const direction = h(
    'fieldset',
    { class: 'mx-direction' },
    h('legend', null, 'Connections'),
    radio('forward', 'through the device', true),
    radio('input', 'to the device itself', false),
  );
  const submit = h('button', { id: 'mx-button', class: 'button primary', type: 'submit' }, 'Compute');
  const exportButton = h(
    'button',
    { id: 'mx-export', class: 'button small-button', type: 'button', disabled: true, title: 'The matrix as JSON, as portolan matrix --json writes it', onclick: exportJson },
    'Export JSON',
  );
  const count = h('span', { id: 'mx-count', class: 'count' });
  const status = h('p', { id: 'mx-status', class: 'shown muted small', role: 'status', 'aria-live': 'polite' });
  const result = h('div', { id: 'mx-result' });
  const form = h(
    'form',
    { id: 'mx-form', class: 'mx-form', novalidate: true, 'aria-label': 'Service matrix question' },
    field('mx-device', 'Device', deviceSelect),
    field('mx-proto', 'Protocol', protoSelect, 'small'),
    field('mx-port', 'Port', portInput, 'small'),
    field('mx-sport', 'Source port', sportInput, 'small'),
    direction,
    submit,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    compute();
  });

  clear(card).append(
    h('div', { class: 'card-head' }, h('h2', { id: 'matrix-title' }, 'Service matrix ', count), h('div', { class: 'exports', role: 'group', 'aria-label': 'Service matrix export' }, exportButton)),
    h(
      'p',
      { class: 'intro muted' },
      'For one firewall and one port: the classes of addresses its rules treat alike, and which class may open new connections to which. Computed exactly from the rules and the interface assignment; address translation is not applied.',
    ),
    form,
    h('p', { id: 'mx-hint', class: 'hint muted small' }, 'Port 0–65535; source port empty for any (a pair counts when some source port is allowed).'),
    status,
    result,
  );

  function setStatus(text, kind = '') {
    status.className = `shown small ${kind || 'muted'}`.trim();
    status.textContent = text;
  }

  function reset(report) {
    seq++;
    shown = null;
    exportButton.disabled = true;
    count.textContent = '';
    clear(result);
    setStatus('');
    const devices = (report && Array.isArray(report.devices) ? report.devices : []).filter((d) => d.rulesets > 0 || d.rules > 0);
    clear(deviceSelect);
    for (const d of devices) deviceSelect.appendChild(h('option', { value: d.name }, d.name));
    // With one firewall the core picks it, as the CLI does without --device.
    document.getElementById('mx-device-field').hidden = devices.length < 2;
    card.hidden = false;
    if (devices.length === 0) setStatus('No device with packet filter rules among the inputs.');
  }

  async function compute() {
    const port = portValue(portInput.value);
    const sport = portValue(sportInput.value);
    if (port === null || port === undefined) {
      setStatus('Enter a destination port between 0 and 65535.', 'error');
      portInput.focus();
      return;
    }
    if (sport === undefined) {
      setStatus('The source port must be a number between 0 and 65535, or empty for any.', 'error');
      sportInput.focus();
      return;
    }
    const deviceField = document.getElementById('mx-device-field');
    const request = {
      proto: protoSelect.value,
      port,
      sport,
      device: deviceField.hidden ? null : deviceSelect.value || null,
      toDevice: form.querySelector('input[name="mx-direction"]:checked')?.value === 'input',
    };
    const mine = ++seq;
    setStatus('Computing the matrix…');
    submit.disabled = true;
    try {
      const { result: m, ms } = await call('matrix', request);
      if (mine !== seq) return;
      shown = m;
      exportButton.disabled = false;
      render(m);
      setStatus(`${plural(m.classes.length, 'class', 'classes')}, ${plural(m.allowed.length, 'allowed pair')} in ${formatMs(ms)}.`, 'done');
    } catch (e) {
      if (mine !== seq) return;
      shown = null;
      exportButton.disabled = true;
      count.textContent = '';
      clear(result);
      // Cancelled: the page says so once (the status line).
      if (e?.name === 'Cancelled') setStatus('Not computed: cancelled.', 'done');
      else setStatus(`Could not compute the matrix: ${e.message}`, 'error');
    } finally {
      if (mine === seq) submit.disabled = false;
    }
  }

  function render(m) {
    count.textContent = String(m.classes.length);
    const states = pairStates(m);
    const port = m.sport === undefined || m.sport === null ? `${m.proto}/${m.dport}` : `${m.proto}/${m.dport} from source port ${m.sport}`;
    const what = m.direction === 'input' ? 'connections to the device itself' : 'connections through the device';
    const files = m.interfaces.files.length ? ` (${m.interfaces.files.join(', ')})` : '';
    const bounded = Array.isArray(m.allowed_definite);

    const legend = h(
      'ul',
      { class: 'mx-legend', 'aria-label': 'Legend' },
      h('li', null, h('span', { class: 'mx-cell allowed', 'aria-hidden': 'true' }, STATE.allowed.mark), ' allowed'),
      h('li', null, h('span', { class: 'mx-cell possible', 'aria-hidden': 'true' }, STATE.possible.mark), ' possibly allowed (depends on rule parts that are not modelled)'),
      h('li', null, h('span', { class: 'mx-cell', 'aria-hidden': 'true' }), ' blank: not allowed'),
    );

    const classRows = m.classes.map((c) =>
      h(
        'tr',
        { class: 'mx-class', 'data-id': c.id },
        h('th', { scope: 'row', class: 'cls-id' }, `#${c.id}`),
        h('td', { class: 'cls-family' }, c.family === 'ipv6' ? 'IPv6' : 'IPv4'),
        h('td', { class: 'cls-addr' }, h('ul', { class: 'mx-addrs' }, c.addresses.map((a) => h('li', null, h('code', null, a))))),
      ),
    );
    const classTable = h(
      'table',
      { id: 'mx-classes', class: 'mx-classes' },
      h('caption', { class: 'visually-hidden' }, 'Classes of addresses'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Class'), h('th', { scope: 'col' }, 'Family'), h('th', { scope: 'col' }, 'Addresses'))),
      h('tbody', null, classRows),
    );

    const ids = m.classes.map((c) => c.id);
    const head = h('tr', null, h('td', { class: 'mx-corner' }, h('span', { class: 'small muted' }, 'from ↓ to →')), ids.map((id) => h('th', { scope: 'col', title: addressesOf(m, id) }, `#${id}`)));
    const rows = ids.map((from) =>
      h(
        'tr',
        null,
        h('th', { scope: 'row', title: addressesOf(m, from) }, `#${from}`),
        ids.map((to) => {
          const state = states.get(`${from},${to}`) ?? null;
          const label = state ? STATE[state].label : 'not allowed';
          return h(
            'td',
            { class: `mx-cell ${state ?? 'none'}`, 'data-from': from, 'data-to': to, 'data-state': state ?? '', title: `#${from} → #${to}: ${label}` },
            state ? h('span', { 'aria-hidden': 'true' }, STATE[state].mark) : null,
            h('span', { class: 'visually-hidden' }, label),
          );
        }),
      ),
    );
    const gridTitle = `Who may open ${port} connections: rows are the class a connection comes from, columns the class it goes to`;
    const grid = h(
      'table',
      { id: 'mx-grid', class: 'mx-grid' },
      h('caption', { class: 'visually-hidden' }, gridTitle),
      h('thead', null, head),
      h('tbody', null, rows),
    );

    const list = (title, items) => (items.length ? h('div', { class: 'mx-notes' }, h('h3', null, title), h('ul', null, items.map((t) => h('li', null, t)))) : null);
    const spoof = m.spoofing.map((s) =>
      s.enforced
        ? `${s.interface}: enforced`
        : `${s.interface}: not enforced (${s.certainty ?? 'possibly'}), e.g. source ${s.example ?? 'outside its assignment'} is accepted`,
    );

    const parts = [
      h('p', { class: 'mx-summary' }, h('strong', null, m.device), ` · ${port} · ${what}`, bounded ? ' · some pairs depend on unmodelled rule parts' : ''),
      h('p', { class: 'muted small' }, `Interfaces: ${m.interfaces.source}${files}; assumed: ${m.interfaces.assumption}`),
      h('h3', null, 'Classes'),
      h('div', { class: 'mx-scroll', role: 'region', tabindex: '0', 'aria-label': 'Classes of addresses' }, classTable),
      h('h3', null, 'Matrix'),
      h('p', { class: 'muted small', 'aria-hidden': 'true' }, gridTitle),
      legend,
      h('div', { class: 'mx-scroll', role: 'region', tabindex: '0', 'aria-label': 'Service matrix grid' }, grid),
      list('Spoofing protection', spoof),
      list('Rules with unmodelled parts', m.uncertain),
      list('Notes', m.notes),
    ];
    clear(result).append(...parts.filter((p) => p !== null));
  }

  function addressesOf(m, id) {
    const c = m.classes.find((x) => x.id === id);
    return c ? c.addresses.join(' ') : '';
  }

  function exportJson() {
    if (!shown) return;
    const m = shown;
    const text = `${JSON.stringify(m, null, 2)}\n`;
    const name = `matrix-${m.device}-${m.proto}-${m.dport}${m.direction === 'input' ? '-input' : ''}.json`.replace(/[^A-Za-z0-9._-]+/g, '_');
    const url = URL.createObjectURL(new Blob([text], { type: 'application/json;charset=utf-8' }));
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  return { reset };
}
