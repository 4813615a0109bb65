// First paint of the hosted page from a local server, in headless Chromium driven by Playwright:
// the browser's own paint timings (first-paint, first-contentful-paint), the time until the
// WebAssembly core is ready (the sample button enabled), and the bytes transferred, each from a
// fresh browser context (empty cache), five times.
//
//   bash scripts/build-www.sh
//   node benches/first-paint.mjs
//
// Also the cumulative layout shift (CLS) while the page loads and after a sample is loaded, at
// the 1280×720 of a projector. Prints JSON.

import { cpus, loadavg } from 'node:os';

import { launchBrowser, startServer } from '../tests/browser/harness.mjs';

const RUNS = 5;
const server = await startServer();
const browser = await launchBrowser();
const runs = [];
for (let i = 0; i < RUNS; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  let bytes = 0;
  page.on('response', async (r) => {
    const len = Number((await r.allHeaders())['content-length'] || 0);
    bytes += len;
  });
  const t0 = Date.now();
  await page.goto(`${server.origin}/`, { waitUntil: 'load' });
  await page.waitForSelector('#sample-button:not([disabled])', { timeout: 60_000 });
  const ready = Date.now() - t0;
  const paint = await page.evaluate(() =>
    Object.fromEntries(performance.getEntriesByType('paint').map((e) => [e.name, Math.round(e.startTime)])),
  );
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return { dom_content_loaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd) };
  });
  // Layout shifts (cumulative layout shift, the browser's own measure of jank) while the page
  // loads, and again while a sample loads and every view fills in.
  const cls = () =>
    page.evaluate(
      () =>
        new Promise((resolve) => {
          let sum = 0;
          new PerformanceObserver((l) => {
            for (const e of l.getEntries()) if (!e.hadRecentInput) sum += e.value;
          }).observe({ type: 'layout-shift', buffered: true });
          setTimeout(() => resolve(Math.round(sum * 1000) / 1000), 200);
        }),
    );
  const clsLoad = await cls();
  await page.click('#sample-button');
  await page.waitForSelector('#exposure-card:not([hidden])', { timeout: 60_000 });
  await page.waitForTimeout(500);
  const clsSample = await cls();
  runs.push({ ...paint, ...nav, core_ready_ms: ready, bytes, cls_load: clsLoad, cls_after_sample: clsSample });
  await context.close();
}
await browser.close();
await server.stop();
const med = (k) => {
  const v = runs.map((r) => r[k]).filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
};
console.log(
  JSON.stringify(
    {
      runs,
      median: {
        first_paint_ms: med('first-paint'),
        first_contentful_paint_ms: med('first-contentful-paint'),
        core_ready_ms: med('core_ready_ms'),
        cls_load: med('cls_load'),
        cls_after_sample: med('cls_after_sample'),
      },
      cpus: cpus().length,
      loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    null,
    2,
  ),
);
