// The Map view: draws the map the core builds (src/report/map.rs) with Cytoscape.js. It only
// presents: which nodes exist, how they group, their heat and the elements each attack path
// crosses all come from the worker (`map` requests). Text from inputs goes in as text only.
//
// The canvas is for the eye; the same map is also a table of the nodes drawn, with buttons to
// select a node and to open or close a group, for the keyboard and for screen readers.

import cytoscape from './vendor/cytoscape.esm.min.mjs';
import { clear, h, plural } from './dom.js';

const KIND_LABEL = { zone: 'Zone', area: 'Area', subnet: 'Subnet', device: 'Device', host: 'Host', origin: 'Origin' };
const HEAT_LABEL = ['nothing exposed', 'exposed', 'exposed, low or medium weakness or open to the Internet', 'exposed, high weakness', 'exposed, critical weakness'];

// Cytoscape puts a one-line stylesheet into the page unless an element with this id exists;
// the page's CSP (style-src 'self') forbids inline styles, so the rule lives in style.css
// (#map-canvas { position: relative }) and this marker tells Cytoscape it is there.
const CY_STYLESHEET_ID = '__________cytoscape_stylesheet';

/** A one-line summary of a node's heat. */
export function heatText(heat) {
  const parts = (heat.exposed || []).map((o) => `${plural(o.services, 'service')} to ${o.origin}`);
  let t = parts.length ? parts.join(', ') : 'nothing exposed';
  if (heat.worst) t += `; worst: ${heat.worst}`;
  if (heat.jewel) t += '; crown jewel';
  return t;
}

function themeColours() {
  const css = getComputedStyle(document.documentElement);
  const v = (n, d) => css.getPropertyValue(n).trim() || d;
  const dark = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
  return {
    text: v('--text', '#1c2430'),
    muted: v('--muted', '#5d6b7a'),
    card: v('--card', '#ffffff'),
    border: v('--border-strong', '#c5cfda'),
    accent: v('--accent', '#1f5f8b'),
    bad: v('--bad', '#b42318'),
    soft: v('--neutral-soft', '#eceff3'),
    // Heat 0 to 4: neutral, then yellow to red; a little darker on a dark page.
    heat: dark ? ['#3a4654', '#a38a2e', '#c77a1c', '#d1541f', '#e0413a'] : ['#d5dde6', '#f3d36b', '#f5a524', '#ec6a1f', '#d92d20'],
    jewel: dark ? '#e9c46a' : '#8a5a00',
  };
}

function cyStyle() {
  const c = themeColours();
  const s = [
    {
      selector: 'node',
      style: {
        label: 'data(label)',
        'font-size': 10,
        'font-family': 'system-ui, sans-serif',
        color: c.text,
        'text-valign': 'bottom',
        'text-margin-y': 3,
        'text-wrap': 'ellipsis',
        'text-max-width': 150,
        'background-color': c.heat[0],
        'border-width': 1,
        'border-color': c.border,
        width: 18,
        height: 18,
      },
    },
    { selector: 'node[kind = "device"]', style: { shape: 'round-rectangle', width: 34, height: 22, 'border-width': 2, 'border-color': c.accent } },
    { selector: 'node[kind = "origin"]', style: { shape: 'diamond', width: 30, height: 30, 'border-width': 2, 'border-color': c.bad, 'background-color': c.card } },
    { selector: 'node[kind = "subnet"]', style: { shape: 'round-rectangle', width: 28, height: 16 } },
    { selector: 'node.collapsed', style: { shape: 'round-rectangle', width: 46, height: 28, 'border-width': 2, 'border-style': 'double' } },
    {
      selector: ':parent',
      style: {
        'background-opacity': 0.12,
        'text-valign': 'top',
        'text-margin-y': -3,
        'border-style': 'dashed',
        'border-width': 1,
        padding: 10,
        shape: 'round-rectangle',
      },
    },
  ];
  for (let k = 0; k <= 4; k++) s.push({ selector: `node.heat-${k}`, style: { 'background-color': c.heat[k] } });
  s.push(
    { selector: 'node.origin-node', style: { 'background-color': c.card } },
    { selector: 'node.jewel', style: { 'border-color': c.jewel, 'border-width': 3, 'border-style': 'solid' } },
    { selector: 'edge', style: { width: 1.5, 'line-color': c.border, 'curve-style': 'bezier' } },
    { selector: 'edge[kind = "link"]', style: { width: 2.5 } },
    { selector: 'edge[kind = "entry"]', style: { 'line-style': 'dashed', 'line-color': c.bad, 'target-arrow-shape': 'triangle', 'target-arrow-color': c.bad } },
    { selector: '.faded', style: { opacity: 0.2 } },
    { selector: 'node.on-path', style: { 'border-color': c.accent, 'border-width': 4, 'border-style': 'solid' } },
    { selector: 'edge.on-path', style: { 'line-color': c.accent, 'target-arrow-color': c.accent, width: 4, opacity: 1 } },
    {
      selector: 'edge.step',
      style: {
        'curve-style': 'unbundled-bezier',
        'control-point-distances': 30,
        'line-color': c.bad,
        'line-style': 'dashed',
        width: 2.5,
        'target-arrow-shape': 'triangle',
        'target-arrow-color': c.bad,
        label: 'data(label)',
        'font-size': 9,
        color: c.text,
        'text-background-color': c.card,
        'text-background-opacity': 0.85,
        'text-background-padding': 2,
      },
    },
    { selector: 'node:selected', style: { 'overlay-color': c.accent, 'overlay-opacity': 0.25, 'overlay-padding': 4 } },
  );
  return s;
}

// Cytoscape's cose layout lets open groups drift away from the edges that reach them (it does
// not pull on a group through the edges of its box). So each level is laid out on its own: the
// members of every open group (and the top level) are arranged with cose in a headless
// Cytoscape instance, as boxes the size of their own arrangement, joined by the edges between
// what they contain; members without any edge among them go in a grid. Then boxes are placed
// from the top down.
const LEAF = { w: 70, h: 46 };
const PAD = 28;

function nestedLayout(cy, view) {
  const ids = new Set(view.nodes.map((n) => n.id));
  const parentOf = new Map();
  const kids = new Map([[null, []]]);
  for (const n of view.nodes) {
    const p = n.parent && ids.has(n.parent) ? n.parent : null;
    parentOf.set(n.id, p);
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(n.id);
  }
  const chain = (id) => {
    const out = [id];
    for (let p = parentOf.get(id); p; p = parentOf.get(p)) out.push(p);
    return out.reverse(); // top-level ancestor first
  };
  // Edges per group, between its members that hold the two ends.
  const links = new Map();
  for (const e of view.edges) {
    const a = chain(e.source);
    const b = chain(e.target);
    let k = 0;
    while (k < a.length && k < b.length && a[k] === b[k]) k++;
    if (k >= a.length || k >= b.length) continue; // one end holds the other
    const group = k === 0 ? null : a[k - 1];
    if (!links.has(group)) links.set(group, []);
    links.get(group).push([a[k], b[k]]);
  }
  const size = new Map(); // id → {w, h}
  const rel = new Map(); // id → {x, y} relative to its group's centre
  const arrange = (group) => {
    const members = kids.get(group) || [];
    for (const m of members) {
      if (kids.has(m)) arrange(m);
      else size.set(m, LEAF);
    }
    const edges = links.get(group) || [];
    let pos;
    if (edges.length === 0 || members.length < 2) {
      // A grid, in the model's order.
      const cols = Math.max(1, Math.ceil(Math.sqrt(members.length)));
      const colW = Math.max(...members.map((m) => size.get(m).w), 1);
      const rowH = Math.max(...members.map((m) => size.get(m).h), 1);
      pos = new Map(members.map((m, i) => [m, { x: (i % cols) * colW, y: Math.floor(i / cols) * rowH }]));
    } else {
      const sub = cytoscape({ headless: true, styleEnabled: true, style: [{ selector: 'node', style: { width: 'data(w)', height: 'data(h)' } }] });
      sub.add(members.map((m) => ({ group: 'nodes', data: { id: m, w: size.get(m).w, h: size.get(m).h } })));
      const seen = new Set();
      edges.forEach(([x, y], i) => {
        const key = x < y ? `${x}\u0000${y}` : `${y}\u0000${x}`;
        if (seen.has(key)) return;
        seen.add(key);
        sub.add({ group: 'edges', data: { id: `l${i}`, source: x, target: y } });
      });
      sub
        .layout({
          name: 'cose',
          animate: false,
          randomize: true,
          fit: false,
          nodeOverlap: 20,
          componentSpacing: 60,
          idealEdgeLength: () => 60,
          nodeRepulsion: () => 200000,
          gravity: 0.6,
          numIter: members.length > 60 ? 800 : 1500,
        })
        .run();
      pos = new Map(sub.nodes().map((n) => [n.id(), { ...n.position() }]));
      sub.destroy();
    }
    let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const m of members) {
      const p = pos.get(m);
      const z = size.get(m);
      x1 = Math.min(x1, p.x - z.w / 2);
      y1 = Math.min(y1, p.y - z.h / 2);
      x2 = Math.max(x2, p.x + z.w / 2);
      y2 = Math.max(y2, p.y + z.h / 2);
    }
    const cx = (x1 + x2) / 2;
    const cyy = (y1 + y2) / 2;
    for (const m of members) rel.set(m, { x: pos.get(m).x - cx, y: pos.get(m).y - cyy });
    if (group !== null) size.set(group, { w: x2 - x1 + 2 * PAD, h: y2 - y1 + 2 * PAD });
  };
  arrange(null);
  const abs = new Map();
  const place = (group, at) => {
    for (const m of kids.get(group) || []) {
      const r = rel.get(m);
      const p = { x: at.x + r.x, y: at.y + r.y };
      abs.set(m, p);
      if (kids.has(m)) place(m, p);
    }
  };
  place(null, { x: 0, y: 0 });
  cy.batch(() => {
    cy.nodes().forEach((n) => {
      if (!kids.has(n.id()) && abs.has(n.id())) n.position(abs.get(n.id()));
    });
  });
  cy.nodes().updateCompoundBounds(true);
  cy.fit(undefined, 20);
}

/**
 * The Map view inside `card` (an empty section of the page). `call(type, payload)` asks the
 * worker; `links` holds the ways to the page's other views: exposure(address),
 * findings(device), files().
 */
export function createMap({ card, call, links }) {
  let cy = null;
  let view = null; // the MapView drawn
  let origins = null; // the origins of the analysis shown, or null for the network alone
  let seq = 0; // answers to earlier requests are dropped
  let pathIndex = null; // the attack path highlighted (index into attack_paths)
  let selected = null; // the node id whose details are shown
  let refocus = null; // the group whose open/close button had the focus before a redraw

  const count = h('span', { id: 'map-count', class: 'count', title: 'Devices and hosts on the map' });
  const status = h('p', { id: 'map-status', class: 'shown muted small', 'aria-live': 'polite' });
  const pathSelect = h('select', { id: 'map-path' }, h('option', { value: '' }, 'none'));
  const canvas = h('div', {
    id: 'map-canvas',
    class: 'map-canvas',
    role: 'application',
    tabindex: '0',
    'aria-roledescription': 'network map',
    'aria-label': 'Network map. Arrow keys pan, plus and minus zoom, 0 fits. The table below lists the same nodes.',
    'aria-describedby': 'map-status',
  });
  const detail = h('aside', { id: 'map-detail', class: 'map-detail', 'aria-live': 'polite', 'aria-label': 'Selected node' });
  const listBody = h('tbody');
  const button = (id, text, title, onclick) => h('button', { id, class: 'button small-button', type: 'button', title, onclick }, text);

  clear(card).append(
    h('div', { class: 'card-head' }, h('h2', { id: 'map-title' }, 'Map ', count)),
    h(
      'p',
      { class: 'intro muted' },
      'Zones, subnets, devices and hosts, coloured by how exposed they are: each origin\'s reachable services and the worst weakness scans or findings report. Large groups start closed; open one to see inside. Choose an attack path to see the way it takes.',
    ),
    h(
      'div',
      { class: 'map-tools', role: 'toolbar', 'aria-label': 'Map controls' },
      button('map-fit', 'Fit', 'Show the whole map', () => cy && cy.fit(undefined, 20)),
      button('map-zoom-in', 'Zoom in', 'Zoom in', () => zoomBy(1.25)),
      button('map-zoom-out', 'Zoom out', 'Zoom out', () => zoomBy(0.8)),
      button('map-default', 'Default grouping', 'Close what was opened and open the default groups', () => load(origins, null)),
      h('label', { for: 'map-path', class: 'map-path-label' }, 'Attack path'),
      pathSelect,
    ),
    status,
    h('div', { class: 'map-layout' }, canvas, detail),
    h(
      'ul',
      { class: 'map-legend', 'aria-label': 'Heat colours' },
      HEAT_LABEL.map((t, k) => h('li', null, h('span', { class: `swatch heat-${k}`, 'aria-hidden': 'true' }), t)),
      h('li', null, h('span', { class: 'swatch jewel', 'aria-hidden': 'true' }), 'crown jewel'),
    ),
    h(
      'details',
      { class: 'map-list-box' },
      h('summary', null, 'The map as a table'),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'map-list', class: 'map-list' },
          h('caption', { class: 'visually-hidden' }, 'Nodes drawn on the map'),
          h('thead', null, h('tr', null, ['Node', 'Kind', 'Inside', 'Heat', 'Group'].map((c) => h('th', { scope: 'col' }, c)))),
          listBody,
        ),
      ),
    ),
  );

  pathSelect.addEventListener('change', () => {
    const v = pathSelect.value;
    showPath(v === '' ? null : Number(v), false);
  });

  canvas.addEventListener('keydown', (ev) => {
    if (!cy) return;
    const step = 60;
    const pans = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (pans[ev.key]) cy.panBy({ x: pans[ev.key][0], y: pans[ev.key][1] });
    else if (ev.key === '+' || ev.key === '=') zoomBy(1.25);
    else if (ev.key === '-') zoomBy(0.8);
    else if (ev.key === '0') cy.fit(undefined, 20);
    else return;
    ev.preventDefault();
  });

  const dark = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  if (dark && dark.addEventListener) dark.addEventListener('change', () => cy && cy.style(cyStyle()));

  function zoomBy(f) {
    if (!cy) return;
    cy.zoom({ level: cy.zoom() * f, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
  }

  function ensureCy() {
    if (cy) return cy;
    if (!document.getElementById(CY_STYLESHEET_ID)) document.head.appendChild(h('meta', { id: CY_STYLESHEET_ID, name: 'cytoscape-stylesheet' }));
    cy = cytoscape({ container: canvas, style: cyStyle(), wheelSensitivity: 0.4, minZoom: 0.05, maxZoom: 4, boxSelectionEnabled: false });
    cy.on('tap', 'node', (ev) => select(ev.target.id()));
    cy.on('dbltap', 'node', (ev) => {
      const n = nodeOf(ev.target.id());
      if (n && (n.children > 0)) toggle(n.id);
    });
    cy.on('tap', (ev) => {
      if (ev.target === cy) select(null);
    });
    return cy;
  }

  const nodeOf = (id) => (view ? view.nodes.find((n) => n.id === id) : null);

  async function load(nextOrigins, expanded) {
    const mine = ++seq;
    origins = nextOrigins;
    status.textContent = 'Drawing the map…';
    try {
      const { result } = await call('map', { origins: nextOrigins, expanded });
      if (mine !== seq) return;
      view = result;
      draw();
    } catch (e) {
      if (mine !== seq) return;
      // Cancelled: the page says so once (the status line).
      if (e?.name === 'Cancelled') {
        status.textContent = 'Not drawn: cancelled.';
        return;
      }
      status.textContent = `The map could not be drawn: ${e.message}`;
    }
  }

  function draw() {
    card.hidden = false;
    const c = ensureCy();
    const known = new Set(view.nodes.map((n) => n.id));
    const elements = [];
    for (const n of view.nodes) {
      const classes = [`heat-${n.heat.level}`, n.collapsed ? 'collapsed' : '', n.heat.jewel ? 'jewel' : '', n.kind === 'origin' ? 'origin-node' : ''].filter(Boolean).join(' ');
      const label = n.collapsed ? `${n.label} ▸` : n.label;
      const el = { group: 'nodes', data: { id: n.id, label, kind: n.kind }, classes };
      if (n.parent && known.has(n.parent)) el.data.parent = n.parent;
      elements.push(el);
    }
    for (const e of view.edges) elements.push({ group: 'edges', data: { id: e.id, source: e.source, target: e.target, label: e.label, kind: e.kind } });
    c.batch(() => {
      c.elements().remove();
      c.add(elements);
    });
    nestedLayout(c, view);
    const k = view.counts;
    const shown = view.nodes.length;
    count.textContent = String(k.devices + k.hosts);
    status.textContent =
      `${plural(k.devices, 'device')}, ${plural(k.subnets, 'subnet')}, ${plural(k.hosts, 'host')}` +
      (k.zones ? `, ${plural(k.zones, 'zone')}` : '') +
      `; ${plural(shown, 'node')} drawn` +
      (view.analysed ? `, heat from ${view.origins.join(', ') || 'no origin'}.` : ': the analysis is not done yet, so there is no heat.') +
      (view.notes.length ? ` ${view.notes.join('. ')}.` : '');
    renderPaths();
    renderList();
    if (pathIndex !== null) highlight();
    if (selected && nodeOf(selected)) {
      c.getElementById(selected).select();
      renderDetail(nodeOf(selected));
    } else {
      selected = null;
      renderDetail(null);
    }
  }

  function renderPaths() {
    const keep = pathIndex;
    clear(pathSelect).appendChild(h('option', { value: '' }, view.paths.length ? 'none' : 'no attack paths'));
    for (const p of view.paths) {
      const target = p.target_name ? `${p.target_name} (${p.target})` : p.target;
      pathSelect.appendChild(h('option', { value: String(p.index) }, `${p.origin} → ${target}, #${p.rank} (${Math.round(p.likelihood * 1000) / 10} %)`));
    }
    pathSelect.disabled = view.paths.length === 0;
    pathSelect.value = keep === null ? '' : String(keep);
  }

  function highlight() {
    if (!cy) return;
    cy.remove('edge.step');
    cy.elements().removeClass('faded on-path');
    const p = view.paths.find((x) => x.index === pathIndex);
    if (!p) return;
    const nodes = new Set(p.nodes);
    cy.elements().addClass('faded');
    for (const id of p.nodes) {
      const n = cy.getElementById(id);
      n.removeClass('faded').addClass('on-path');
      n.ancestors().removeClass('faded');
    }
    for (const id of p.edges) cy.getElementById(id).removeClass('faded').addClass('on-path');
    p.steps.forEach((s, k) => {
      if (s.from === s.to || !nodes.has(s.from) || !nodes.has(s.to)) return;
      cy.add({ group: 'edges', data: { id: `step-${k}`, source: s.from, target: s.to, label: `${k + 1}. ${s.label}` }, classes: 'step' });
    });
  }

  async function showPath(index, fromElsewhere) {
    pathIndex = index;
    if (index === null) {
      highlight();
      return;
    }
    const p = view && view.paths.find((x) => x.index === index);
    if (!p) {
      status.textContent = 'That attack path is drawn once the map shows the analysis it comes from.';
      return;
    }
    const open = new Set(view.expanded);
    const missing = p.groups.filter((g) => !open.has(g));
    if (missing.length) {
      await load(origins, [...open, ...missing]);
    } else {
      highlight();
    }
    pathSelect.value = String(index);
    if (fromElsewhere) {
      card.scrollIntoView({ block: 'start' });
      pathSelect.focus();
    }
  }

  function toggle(id) {
    if (listBody.contains(document.activeElement)) refocus = id;
    const open = new Set(view.expanded);
    if (open.has(id)) open.delete(id);
    else open.add(id);
    selected = id;
    load(origins, [...open]);
  }

  function select(id) {
    selected = id;
    if (cy) {
      cy.$(':selected').unselect();
      if (id) cy.getElementById(id).select();
    }
    renderDetail(id ? nodeOf(id) : null);
  }

  function fact(label, ...value) {
    return [h('dt', null, label), h('dd', null, ...value)];
  }

  function renderDetail(n) {
    clear(detail);
    if (!n) {
      detail.appendChild(h('p', { class: 'muted small' }, 'Select a node on the map or in the table for its details. Double-click a group to open or close it.'));
      return;
    }
    const d = n.detail || {};
    const facts = [];
    if (d.addresses && d.addresses.length) facts.push(fact('Addresses', d.addresses.join(', ')));
    if (d.names && d.names.length) facts.push(fact('Names', d.names.join(', ')));
    if (d.role) facts.push(fact('Role', d.role));
    if (d.value) facts.push(fact('Value', d.value));
    if (d.os) facts.push(fact('OS', d.os));
    if (d.rules !== undefined) facts.push(fact('Rules', String(d.rules)));
    if (n.children > 0) {
      const m = n.members;
      const parts = [m.devices ? plural(m.devices, 'device') : null, m.subnets ? plural(m.subnets, 'subnet') : null, m.hosts ? plural(m.hosts, 'host') : null].filter(Boolean);
      facts.push(fact('Inside', parts.join(', ') || plural(n.children, 'member')));
    }
    facts.push(fact('Heat', `${HEAT_LABEL[n.heat.level] || ''}: ${heatText(n.heat)}`));
    if (n.heat.paths) facts.push(fact('Attack paths', `crosses ${plural(n.heat.paths, 'path')}`));
    const actions = [];
    if (n.children > 0) {
      const open = !n.collapsed;
      actions.push(h('button', { class: 'button small-button', type: 'button', onclick: () => toggle(n.id) }, open ? 'Close group' : 'Open group'));
    }
    if (n.kind === 'host' && d.addresses && d.addresses.length) {
      actions.push(h('button', { class: 'button small-button', type: 'button', onclick: () => links.exposure(d.addresses[0]) }, 'Its exposures'));
    }
    if (n.kind === 'device') {
      actions.push(h('button', { class: 'button small-button', type: 'button', onclick: () => links.findings(n.label) }, 'Its findings'));
      actions.push(h('button', { class: 'button small-button', type: 'button', onclick: () => links.files() }, 'Files and devices'));
    }
    detail.append(
      ...[
        h('h3', { id: 'map-detail-title' }, h('span', { class: 'tag' }, KIND_LABEL[n.kind] || n.kind), ' ', n.label),
        d.description ? h('p', { class: 'small muted' }, d.description) : null,
        h('dl', { class: 'map-facts' }, facts),
        actions.length ? h('div', { class: 'map-actions' }, actions) : null,
      ].filter(Boolean),
    );
    if (d.files && d.files.length) {
      detail.append(
        h('h4', null, 'Files'),
        h('ul', { class: 'map-files' }, d.files.map((f) => h('li', null, h('code', null, f.path), ` ${f.format}, ${f.status}, ${f.coverage} % understood`))),
      );
    }
    if (d.findings && d.findings.length) detail.append(h('h4', null, 'Findings'), h('p', { class: 'small' }, d.findings.map(([s, k]) => `${k} ${s}`).join(', ')));
    if (d.interfaces && d.interfaces.length) detail.append(h('h4', null, 'Interfaces'), h('ul', { class: 'map-files' }, d.interfaces.map((t) => h('li', null, h('code', null, t)))));
    if (d.services && d.services.length) detail.append(h('h4', null, 'Open services'), h('ul', { class: 'map-services' }, d.services.map((t) => h('li', null, t))));
    if (d.exposures && d.exposures.length) {
      detail.append(
        h('h4', null, 'Exposures'),
        h(
          'ul',
          { class: 'map-exposures' },
          d.exposures.map((e) => h('li', null, `${e.origin} → ${e.ip} ${e.ports ? `${e.proto}/${e.ports}` : e.proto} (${e.certainty})`, e.service ? ` · ${e.service}` : '')),
        ),
      );
    }
    if (d.vulnerabilities && d.vulnerabilities.length) {
      detail.append(
        h('h4', null, 'Vulnerabilities'),
        h(
          'ul',
          { class: 'map-vulns' },
          d.vulnerabilities.map((v) => h('li', null, h('span', { class: `sev sev-${v.severity}` }, v.severity), ' ', v.name, v.port ? ` (${v.port})` : '', v.cves.length ? ` ${v.cves.join(', ')}` : '', v.exploit ? ' · public exploit' : '')),
        ),
      );
    }
  }

  function renderList() {
    clear(listBody);
    const byId = new Map(view.nodes.map((n) => [n.id, n]));
    for (const n of view.nodes) {
      const inside = n.parent && byId.get(n.parent) ? byId.get(n.parent).label : '';
      listBody.appendChild(
        h(
          'tr',
          { 'data-id': n.id, 'data-kind': n.kind, 'data-heat': String(n.heat.level) },
          h('td', null, h('button', { class: 'linkish', type: 'button', onclick: () => select(n.id) }, n.label)),
          h('td', null, KIND_LABEL[n.kind] || n.kind),
          h('td', null, inside),
          h('td', { class: 'map-heat' }, heatText(n.heat)),
          h('td', null, n.children > 0 ? h('button', { class: 'button small-button', type: 'button', 'aria-label': `${n.collapsed ? 'Open' : 'Close'} ${n.label}`, onclick: () => toggle(n.id) }, n.collapsed ? 'Open' : 'Close') : ''),
        ),
      );
    }
    // Keep the keyboard where it was: on the button of the group just opened or closed.
    if (refocus) {
      const row = [...listBody.rows].find((r) => r.dataset.id === refocus);
      const b = row && row.cells[4].querySelector('button');
      if (b) b.focus();
      refocus = null;
    }
  }

  return {
    /** New inputs: the network alone until the analysis is done. */
    reset() {
      pathIndex = null;
      selected = null;
      view = null;
      load(null, null);
    },
    /** The analysis for `list` (origin names; [] for the default) is done: draw its heat. */
    update(list) {
      pathIndex = null;
      load(Array.isArray(list) ? list : [], null);
    },
    /** Highlight attack path `index` (of the analysis's attack_paths) and bring the map into view. */
    showPath(index) {
      return showPath(index, true);
    },
  };
}
