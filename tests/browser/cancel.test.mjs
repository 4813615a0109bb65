// Browser tests of Cancel repeated: each Cancel ends the worker and another one takes over, made
// from the page's own copy of the worker's code and given the first worker's compiled module, so
// that no request is made after the page has loaded, however often the analyzer is replaced. Both
// the hosted page (dist/ on a loopback server) and the single file (dist/portolan.html opened from
// file://) are tested. Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';

import { DIST, loadSample, networkIdle, openUrl, requestsSince, useBrowser, waitForExposure } from './harness.mjs';

const T = { timeout: 240_000 };
const SAMPLE = 'dmz-db-vendor';

// Thousands of origins keep the analyzer busy for seconds (2,400 take about 1.2 s natively;
// 600 were once enough, until the analysis got faster and sometimes ended before the click).
const MANY = Array.from({ length: 2400 }, (_, i) => `10.${30 + (i % 200)}.${Math.floor(i / 200)}.0/24`).join(', ');

const rowCount = (page) => page.$$eval('#exposure tr.exp-row', (rows) => rows.length);

/** Start the slow analysis, cancel it, then check an ordinary analysis works again. */
async function cancelThenAnalyse(page, round, rowsBefore) {
  await page.fill('#origins', MANY);
  await page.click('#analyze-button');
  await page.waitForSelector('#progress:not([hidden])');
  assert.equal(await page.textContent('#progress-what'), 'Analysing…', `round ${round}`);
  await page.click('#progress-cancel');
  await page.waitForSelector('#progress', { state: 'hidden' });
  assert.equal(await page.textContent('#status'), 'Analysing was cancelled. The results shown are the earlier ones.', `round ${round}`);
  assert.ok(await page.evaluate(() => document.body.classList.contains('stale')), `round ${round}: marked as not updated`);

  // The next analysis runs on the new worker, with the same files.
  await page.fill('#origins', '');
  await page.evaluate(() => document.querySelector('#exposure').replaceChildren());
  await page.click('#analyze-button');
  await waitForExposure(page);
  assert.equal(await rowCount(page), rowsBefore, `round ${round}: the analysis after Cancel`);
  assert.equal(await page.evaluate(() => document.body.classList.contains('stale')), false, `round ${round}`);
  assert.equal(await page.locator('.notice').count(), 0, `round ${round}`);
}

const env = useBrowser();

describe('cancel', () => {
  test('the hosted page: three Cancels in a row, each followed by a working analysis, and no request after load', T, async () => {
    const { page, context, rec, startedAt } = await env.openSample(SAMPLE, { idle: 1000 });
    const rowsBefore = await rowCount(page);
    assert.ok(rowsBefore > 0);
    for (let round = 1; round <= 3; round++) await cancelThenAnalyse(page, round, rowsBefore);
    // A question and another sample on the third replacement worker.
    await loadSample(page, 'edge-fw');
    await waitForExposure(page);
    assert.ok((await rowCount(page)) > 0);
    await networkIdle(rec, 500);
    assert.deepEqual(requestsSince(rec, startedAt), [], 'no request after the page loaded');
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(await page.evaluate(() => window.__csp), []);
    await context.close();
  });

  test('the single file from file://: three Cancels in a row, each followed by a working analysis, and no request at all', T, async () => {
    const url = pathToFileURL(path.join(DIST, 'portolan.html')).href;
    const { page, context, rec } = await openUrl(env.browser, url, { startTimeout: 60_000 });
    await loadSample(page, SAMPLE);
    await waitForExposure(page);
    const rowsBefore = await rowCount(page);
    assert.ok(rowsBefore > 0);
    for (let round = 1; round <= 3; round++) await cancelThenAnalyse(page, round, rowsBefore);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(await page.evaluate(() => window.__csp), []);
    assert.deepEqual(
      requestsSince(rec, 0).filter((u) => u !== url),
      [],
      'no request besides the file itself (and its own worker Blob)',
    );
    await context.close();
  });
});
