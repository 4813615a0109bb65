// Shared set-up for the browser tests: a static server for dist/ on a free loopback port, Debian's
// Chromium driven by playwright-core, a page wrapper that records console errors, CSP violations
// and every request, the bundled samples, and the native CLI's output for the same files.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = path.join(ROOT, 'dist');
export const RESULTS = path.join(ROOT, 'test-results');
/** The bundled sample networks (www/samples) and their index. */
export const SAMPLES = path.join(ROOT, 'www', 'samples');
export const SAMPLE_INDEX = JSON.parse(readFileSync(path.join(SAMPLES, 'index.json'), 'utf8'));

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Serve dist/ with Python's http.server on a free loopback port. */
export async function startServer() {
  if (!existsSync(path.join(DIST, 'index.html')) || !existsSync(path.join(DIST, 'pkg', 'portolan_bg.wasm'))) {
    throw new Error('dist/ is not built: run scripts/build-www.sh first');
  }
  const proc = spawn('python3', ['-u', '-m', 'http.server', '--bind', '127.0.0.1', '--directory', DIST, '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`http.server did not start: ${out}`)), 10_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on('exit', (code) => reject(new Error(`http.server exited (${code}): ${out}`)));
  });
  proc.stderr.resume(); // access log
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', resolve);
        proc.kill('SIGTERM');
      }),
  };
}

export async function launchBrowser() {
  mkdirSync(RESULTS, { recursive: true });
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * Open the page and wait until the analyzer is ready (wasm instantiated, sample prefetched).
 * Returns the page and what it recorded.
 */
export async function openPage(browser, origin, opts = {}) {
  return openUrl(browser, `${origin}/`, opts);
}

/**
 * Open `url` (the served page, or the single file from file://) in a fresh context and wait up
 * to `startTimeout` ms until the analyzer is ready. Returns the page, its context and what it
 * recorded (`rec`: console and page errors, every request of the page and of its worker); the
 * CSP violations are collected in the page's `window.__csp`.
 */
export async function openUrl(browser, url, { colorScheme = 'light', startTimeout = 30_000 } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, colorScheme });
  const page = await context.newPage();
  const rec = { errors: [], requests: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') rec.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => rec.errors.push(`pageerror: ${e.message}`));
  // Requests of the page and of its worker.
  context.on('request', (r) => rec.requests.push({ url: r.url(), at: Date.now() }));
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('#sample-button:not([disabled])', { timeout: startTimeout });
  return { page, context, rec };
}

/**
 * Start the static server (unless `serve` is false) and the browser before the file's tests, and
 * stop both after them. The returned object's `server` and `browser` are set once the tests run;
 * its `open` and `openSample` open the served page.
 */
export function useBrowser({ serve = true } = {}) {
  const env = {
    server: null,
    browser: null,
    /**
     * Open the served page; with `idle`, wait until no request has started for that many ms.
     * Returns the page, its context, what it recorded, and `startedAt`: the number of requests
     * made until then (for requestsSince).
     */
    async open({ idle, ...opts } = {}) {
      const { page, context, rec } = await openPage(env.browser, env.server.origin, opts);
      if (idle !== undefined) await networkIdle(rec, idle);
      return { page, context, rec, startedAt: rec.requests.length };
    },
    /**
     * Open the served page, wait until its start-up requests are over (`idle` ms without one),
     * load a bundled sample (as loadSample: by id, or the first one) and wait for `ready(page)`,
     * by default for the exposure analysis. Returns what `open` returns.
     */
    async openSample(sample, { idle = 800, ready = waitForExposure, ...opts } = {}) {
      const opened = await env.open({ idle, ...opts });
      await loadSample(opened.page, sample);
      await ready(opened.page);
      return opened;
    },
  };
  before(async () => {
    if (serve) env.server = await startServer();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

/** Wait until no request has started for `ms` milliseconds. */
export async function networkIdle(rec, ms = 1000) {
  for (;;) {
    const last = rec.requests.length ? rec.requests[rec.requests.length - 1].at : 0;
    const quiet = Date.now() - last;
    if (quiet >= ms) return;
    await new Promise((r) => setTimeout(r, ms - quiet));
  }
}

/** Load a bundled sample network: the first one (edge-fw), or the one with this id. */
export async function loadSample(page, sample) {
  if (sample) await page.selectOption('#sample-select', sample);
  await page.click('#sample-button');
  await page.waitForSelector('#workspace:not([hidden])');
  await page.waitForFunction(() => /^Loaded/.test(document.querySelector('#status').textContent));
  await page.waitForFunction(() => document.querySelectorAll('#inputs-table tbody tr:not(.diag-row)').length > 0);
}

/** Fill the query form, submit, and return the shown answer (verdict or error text). */
export async function ask(page, { from, to, proto = 'tcp', port = '' }) {
  await page.fill('#q-from', from);
  await page.fill('#q-to', to);
  await page.selectOption('#q-proto', proto);
  await page.fill('#q-port', port);
  await page.click('#query-button');
  await page.waitForSelector('#result .answer, #result .notice');
  return answer(page);
}

export async function answer(page) {
  return page.evaluate(() => {
    const big = document.querySelector('#result .verdict.big');
    const notice = document.querySelector('#result .notice');
    return {
      verdict: big ? big.textContent : null,
      error: notice ? notice.textContent : null,
      text: document.querySelector('#result').textContent,
    };
  });
}

/** Rows of the files table as plain objects. */
export async function inputRows(page) {
  return page.$$eval('#inputs-table tbody tr:not(.diag-row)', (rows) =>
    rows.map((r) => {
      const c = [...r.cells].map((td) => td.textContent.trim());
      return { path: r.cells[0].title, format: c[1], device: c[2], status: c[3], coverage: c[4], diagnostics: c[5] };
    }),
  );
}

export function shot(page, name, opts = {}) {
  return page.screenshot({ path: path.join(RESULTS, `${name}.png`), ...opts });
}

/** Wait for the exposure analysis to be shown (tables, origin errors or an analysis error). */
export async function waitForExposure(page) {
  await page.waitForSelector('#exposure .origin, #exposure > .notice');
}

/** Rows of the exposure tables, in the order shown, as plain objects. */
export async function exposureRows(page) {
  return page.$$eval('#exposure tr.exp-row', (rows) =>
    rows.map((r) => ({
      origin: r.closest('.origin').querySelector('.origin-name').textContent,
      ip: r.querySelector('.ip').textContent,
      host: r.querySelector('.host')?.textContent ?? null,
      forwardedTo: [...r.querySelectorAll('.forwarded')].map((e) => e.textContent),
      service: r.querySelector('.svc').textContent,
      certainty: r.querySelector('.cert').textContent,
      scans: r.querySelector('.scans').textContent,
      owner: r.querySelector('.owner').textContent,
    })),
  );
}

/** Requests made since `from` (an index into rec.requests), leaving out blob: URLs (local). */
export function requestsSince(rec, from) {
  return rec.requests.slice(from).map((r) => r.url).filter((u) => !u.startsWith('blob:'));
}

/** Wait for the attack paths view to be filled (paths, the crown-jewel hint, or an error). */
export async function waitForAttack(page) {
  await page.waitForSelector('#attack .attack-group, #attack .notice, #attack .no-path');
}

/** Wait for the findings view to be filled (a table, "no findings" or an error). */
export async function waitForFindings(page) {
  await page.waitForSelector('#findings table, #findings .empty-origin, #findings .notice');
}

/** Rows of the attack path tables, in the order shown, as plain objects. */
export async function attackRows(page) {
  return page.$$eval('#attack tr.path-row', (rows) =>
    rows.map((r) => ({
      group: r.closest('.attack-group').querySelector('h3').textContent,
      rank: r.querySelector('.rank').textContent,
      chain: [...r.querySelectorAll('.chain-node')].map((n) => n.textContent.replace(/\s+/g, ' ').trim()),
      hosts: [...r.querySelectorAll('.chain-node .node-addr')].map((n) => n.textContent),
      fewest: r.querySelector('.tag.fewest') !== null,
      likelihood: r.querySelector('.likely .pct').textContent,
      certainty: r.querySelector('.cert').textContent,
      owner: r.querySelector('.owner').textContent,
    })),
  );
}

/** Rows of the findings table, in the order shown, as plain objects. */
export async function findingRows(page) {
  return page.$$eval('#findings tr.finding-row', (rows) =>
    rows.map((r) => ({
      severity: r.querySelector('.fsev').textContent,
      code: r.querySelector('.fcode .code').textContent,
      name: r.querySelector('.fcode .fname').textContent,
      certainty: r.querySelector('.cert').textContent,
      device: r.querySelector('.fdevice .fdev').textContent,
      location: r.querySelector('.floc').textContent,
      rule: r.querySelector('.frule').textContent,
      message: r.querySelector('.fmsg').textContent,
      owner: r.querySelector('.owner').textContent,
    })),
  );
}

/**
 * The accessible names the browser computes for the elements `selector` matches, in document
 * order (Chromium's accessibility tree, through the DevTools protocol).
 */
export async function accessibleNames(page, selector) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
    const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector });
    const names = [];
    for (const nodeId of nodeIds) {
      const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
      names.push(nodes[0]?.name?.value ?? '');
    }
    return names;
  } finally {
    await cdp.detach();
  }
}

/** Scroll so that the element's top is `above` pixels below the top of the window, for screenshots. */
export async function scrollToTop(page, selector, above = 0) {
  await page.$eval(
    selector,
    (e, dy) => {
      e.scrollIntoView({ block: 'start' });
      window.scrollBy(0, -dy);
    },
    above,
  );
}

/**
 * Load the policy sample and open its policy view's details: the LAN-to-data cell of the zone
 * matrix and the NO-LAN-DB assertion, each down to its hops.
 */
export async function openPolicyDetails(page) {
  await loadSample(page, 'dmz-db-vendor-policy');
  await page.waitForSelector('#policy .matrix-grid');
  await page.click('#policy .cell-button[data-id="matrix:zone:lan->zone:data"]');
  await page.waitForSelector('#matrix-cell-detail .hop');
  await page.click('#policy tr.assertion-row[data-id="NO-LAN-DB"] .row-toggle');
  await page.waitForSelector('#policy tr.assertion-detail .hop');
}

/** The index entry of bundled sample `id`. */
export function sampleInfo(id) {
  const info = SAMPLE_INDEX.samples.find((s) => s.id === id);
  if (!info) throw new Error(`no sample ${id} in ${path.join(SAMPLES, 'index.json')}`);
  return info;
}

/** The CLI's arguments for the files of sample `id` as the page loads them: its manifest, then its files. */
export function sampleArgs(id) {
  const info = sampleInfo(id);
  return [...(info.manifest ? ['--manifest', info.manifest] : []), ...info.files];
}

/** The native CLI: PORTOLAN_BIN, or debug/portolan in CARGO_TARGET_DIR or target/. */
export function portolanBin() {
  const candidates = [
    process.env.PORTOLAN_BIN,
    process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, 'debug', 'portolan'),
    path.join(ROOT, 'target', 'debug', 'portolan'),
  ].filter(Boolean);
  const bin = candidates.find((p) => existsSync(p));
  if (!bin) throw new Error(`the CLI is missing (${candidates.join(', ')}): build it first (cargo build)`);
  return bin;
}

/** What `portolan ARGS` prints, run in `cwd`: by default the samples' folder, where the page's paths are the same. */
export function portolan(args, { cwd = SAMPLES } = {}) {
  return execFileSync(portolanBin(), args, { cwd, encoding: 'utf8', maxBuffer: 256 << 20 });
}

/** What `portolan ARGS` prints as JSON, parsed. */
export function portolanJson(args, opts) {
  return JSON.parse(portolan(args, opts));
}

/** What `portolan analyze --format FORMAT` prints for the files of sample `id`. */
export function analyzeSample(id, format) {
  return portolan(['analyze', '--format', format, ...sampleArgs(id)]);
}

const reports = new Map();

/** `portolan analyze --format json` of the files of sample `id`, parsed; the CLI runs once per sample. */
export function sampleReport(id) {
  if (!reports.has(id)) reports.set(id, JSON.parse(analyzeSample(id, 'json')));
  return reports.get(id);
}
