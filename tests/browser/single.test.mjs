// Browser test of the single-file build (dist/portolan.html, made by scripts/build-single.sh,
// which scripts/build-www.sh runs): opened from file://, it starts, analyses a bundled sample and
// a zip archive, answers a query, and makes no request at all besides the file itself; its CSP
// allows only the hashed inline script and style. Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { strToU8, zipSync } from 'fflate';

import { answer, DIST, exposureRows, loadSample, openUrl, requestsSince, RESULTS, useBrowser } from './harness.mjs';

const T = { timeout: 120_000 };
const FILE = path.join(DIST, 'portolan.html');

const env = useBrowser({ serve: false });

describe('single file', () => {
  test('opened from file:// it analyses a sample and a zip with no request at all', T, async () => {
    assert.ok(existsSync(FILE), `${FILE} is not built: run scripts/build-www.sh`);
    const size = statSync(FILE).size;
    assert.ok(size > 1_000_000 && size < 20_000_000, `${size} bytes`);
    const url = pathToFileURL(FILE).href;
    const { page, context, rec } = await openUrl(env.browser, url, { startTimeout: 60_000 });
    assert.match(await page.textContent('#status'), /^Ready/);
    const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
    assert.match(csp, /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]{44}' 'wasm-unsafe-eval'; worker-src blob:; connect-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]{44}'; img-src data:; base-uri 'none'; form-action 'none'$/);
    // Every sample is inside.
    const options = await page.$$eval('#sample-select option', (o) => o.map((x) => x.value));
    assert.ok(options.includes('edge-fw') && options.includes('dmz-db-vendor'), options.join(' '));

    await loadSample(page, 'edge-fw');
    await page.waitForSelector('#exposure .origin');
    const rows = await exposureRows(page);
    assert.ok(rows.some((r) => r.ip === '203.0.113.2' && r.service === 'tcp/2222'), JSON.stringify(rows));
    await page.fill('#q-from', '198.51.100.7');
    await page.fill('#q-to', '203.0.113.2');
    await page.fill('#q-port', '443');
    await page.click('#query-button');
    await page.waitForSelector('#result .answer, #result .notice');
    assert.equal((await answer(page)).verdict, 'allowed');
    await page.screenshot({ path: path.join(RESULTS, 'single-file.png') });

    // A zip archive: fflate is inside the file too.
    const zip = zipSync({ 'lab/lab.iptables': strToU8('*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 443 -j ACCEPT\nCOMMIT\n') });
    await page.setInputFiles('#file-input', { name: 'lab.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
    await page.waitForFunction(() => /^Loaded 1 file into 1 device/.test(document.querySelector('#status').textContent));
    assert.equal(await page.textContent('#inputs-table tbody tr td.col-device'), 'lab');

    assert.deepEqual(rec.errors, []);
    assert.deepEqual(await page.evaluate(() => window.__csp), []);
    const others = requestsSince(rec, 0).filter((u) => u !== url);
    assert.deepEqual(others, [], 'no request besides the file itself (and its own worker Blob)');
    await context.close();
  });
});
