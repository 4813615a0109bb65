// Frame times of the page's Map view on a synthetic estate of 1,000 devices and 10,000 hosts
// (portolan::synth::Network, the estate of tests/map.rs), in headless Chromium driven by
// Playwright, while the map is panned by mouse drags and zoomed by the mouse wheel.
//
//   PORTOLAN_MAP_ESTATE_DIR=/tmp/map-estate cargo test --test map a_large_estate   # write the files
//   bash scripts/build-www.sh
//   node benches/map-frames.mjs /tmp/map-estate
//
// The files go to a worker of the built page (the page's own worker.js and wasm) as the page
// loads them; its `map` answer for the network alone (no exposure analysis, which would take
// minutes at this size) is drawn by the page's own www/map.js into a new map card. Frames are
// the intervals between requestAnimationFrame callbacks during the gestures. Prints JSON and
// leaves a screenshot of the map in test-results/map-estate-10000.png.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';

import { launchBrowser, RESULTS, startServer } from '../tests/browser/harness.mjs';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node benches/map-frames.mjs ESTATE_DIR');
  process.exit(2);
}

function walk(d, base, out) {
  for (const name of readdirSync(d).sort()) {
    const p = path.join(d, name);
    if (statSync(p).isDirectory()) walk(p, base, out);
    else out.push({ name: path.relative(base, p), text: readFileSync(p, 'utf8') });
  }
  return out;
}

const files = walk(dir, dir, []);
const server = await startServer();
const browser = await launchBrowser();
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
await page.goto(`${server.origin}/`, { waitUntil: 'load' });
await page.waitForSelector('#sample-button:not([disabled])', { timeout: 60_000 });

const load = await page.evaluate(async (files) => {
  const { createMap } = await import('./map.js');
  const worker = new Worker(new URL('./worker.js', location.href), { type: 'module' });
  let id = 0;
  const pending = new Map();
  worker.onmessage = (ev) => {
    const m = ev.data || {};
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve({ result: m.result, ms: m.ms });
    else p.reject(new Error(m.error));
  };
  const call = (type, payload = {}) =>
    new Promise((resolve, reject) => {
      id += 1;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, type, ...payload });
    });
  const enc = new TextEncoder();
  const t0 = performance.now();
  const parsed = await call('load', { files: files.map((f) => ({ name: f.name, bytes: enc.encode(f.text).buffer })) });
  const card = document.createElement('section');
  card.id = 'map-card';
  card.className = 'card map';
  document.querySelector('#map-card')?.remove();
  document.querySelector('main').prepend(card);
  let mapMs = 0;
  let counts = null;
  const timed = async (type, payload) => {
    const r = await call(type, payload);
    mapMs = r.ms;
    counts = r.result.counts;
    return r;
  };
  const map = createMap({ card, call: timed, links: { exposure() {}, findings() {}, files() {} } });
  const t1 = performance.now();
  map.reset();
  await new Promise((resolve) => {
    const check = () => (/nodes? drawn/.test(document.querySelector('#map-status').textContent) ? resolve() : setTimeout(check, 50));
    check();
  });
  const t2 = performance.now();
  const cy = document.getElementById('map-canvas')._cyreg.cy;
  card.scrollIntoView({ block: 'start' });
  return {
    devices: parsed.result.devices.length,
    parseMs: Math.round(parsed.ms),
    loadMs: Math.round(t1 - t0),
    mapWorkerMs: Math.round(mapMs),
    drawMs: Math.round(t2 - t1),
    nodes: cy.nodes().length,
    edges: cy.edges().length,
    whole: counts,
    status: document.querySelector('#map-status').textContent,
  };
}, files);

await page.screenshot({ path: path.join(RESULTS, 'map-estate-10000.png') });

// Record frame intervals while gestures run.
await page.evaluate(() => {
  const cy = document.getElementById('map-canvas')._cyreg.cy;
  window.__viewport = { events: 0, renders: 0, start: { zoom: cy.zoom(), pan: { ...cy.pan() } } };
  cy.on('viewport', () => window.__viewport.events++);
  cy.on('render', () => window.__viewport.renders++);
  window.__frames = [];
  window.__recording = true;
  let last = performance.now();
  const tick = (t) => {
    window.__frames.push(t - last);
    last = t;
    if (window.__recording) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
});
const box = await page.$eval('#map-canvas', (e) => {
  const b = e.getBoundingClientRect();
  return { x: b.left, y: b.top, w: b.width, h: b.height };
});
const cx = box.x + box.w / 2;
const cyy = box.y + box.h / 2;
const started = Date.now();
for (let round = 0; round < 4; round++) {
  // Drag to pan: start on empty space near a corner of the canvas.
  await page.mouse.move(box.x + 8, box.y + 8);
  await page.mouse.down();
  for (let k = 1; k <= 60; k++) await page.mouse.move(box.x + 8 + k * 6, box.y + 8 + k * 3);
  await page.mouse.up();
  // Wheel to zoom in and out around the centre.
  await page.mouse.move(cx, cyy);
  for (let k = 0; k < 15; k++) await page.mouse.wheel(0, -120);
  for (let k = 0; k < 15; k++) await page.mouse.wheel(0, 120);
}
const seconds = (Date.now() - started) / 1000;
const frames = await page.evaluate(() => {
  window.__recording = false;
  return window.__frames.slice(1);
});
const viewport = await page.evaluate(() => {
  const cy = document.getElementById('map-canvas')._cyreg.cy;
  return { ...window.__viewport, end: { zoom: cy.zoom(), pan: cy.pan() } };
});
frames.sort((a, b) => a - b);
const q = (p) => frames[Math.min(frames.length - 1, Math.floor(p * frames.length))];
const mean = frames.reduce((a, b) => a + b, 0) / frames.length;
const result = {
  estate: load,
  gestures: { seconds: Math.round(seconds * 10) / 10, frames: frames.length, viewportChanges: viewport.events, renders: viewport.renders },
  frameMs: { mean: +mean.toFixed(1), median: +q(0.5).toFixed(1), p95: +q(0.95).toFixed(1), p99: +q(0.99).toFixed(1), max: +frames[frames.length - 1].toFixed(1) },
  // Frames that missed 30 fps.
  over33ms: frames.filter((f) => f > 1000 / 30).length,
  fps: { mean: +(1000 / mean).toFixed(1), fromMedian: +(1000 / q(0.5)).toFixed(1), fromP95: +(1000 / q(0.95)).toFixed(1) },
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((x) => +x.toFixed(2)) },
  errors,
};
console.log(JSON.stringify(result, null, 2));
await browser.close();
await server.stop();
