// Browser tests of sessions: the inputs, origins and what-if changes saved to one downloaded file,
// read back into a fresh page to the same state; damaged or foreign files refused with a message;
// nothing kept in the browser's storage; no request after load. Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { inputRows, requestsSince, RESULTS, ROOT, shot, useBrowser, waitForExposure } from './harness.mjs';

const T = { timeout: 120_000 };
const RULE = 'edge-fw/edge-fw.iptables:20';

const env = useBrowser();

async function whatifDone(page) {
  await page.waitForSelector('#whatif-card:not([hidden]) .wi-summary, #whatif-card:not([hidden]) .notice');
}

// Delete the rule at edge-fw.iptables:20 from the path of the Internet's tcp/2222 exposure.
async function deleteForwardRule(page) {
  const row = page.locator('#exposure tr.exp-row', { has: page.locator('.svc', { hasText: /^tcp\/2222$/ }) }).first();
  await row.locator('.svc').click();
  const decision = page.locator('#exposure tr.exp-detail .decision', { has: page.locator('.loc', { hasText: RULE }) }).first();
  await decision.locator('button.wi-open').click();
  await decision.locator('button.wi-delete').click();
  await whatifDone(page);
}

async function storage(page) {
  return page.evaluate(async () => ({
    local: localStorage.length,
    session: sessionStorage.length,
    idb: indexedDB.databases ? (await indexedDB.databases()).length : 0,
  }));
}

describe('sessions', () => {
  test('save, then open in a fresh page: the same files, origins and what-if changes', T, async () => {
    const first = await env.openSample('edge-fw');
    const startedAt = first.startedAt;
    await first.page.fill('#origins', 'internet, 10.0.0.0/24');
    await first.page.click('#analyze-button');
    await first.page.waitForFunction(() => document.querySelectorAll('#exposure .origin').length === 2);
    await deleteForwardRule(first.page);
    const summary = await first.page.textContent('#whatif-card .wi-summary');
    const removed = await first.page.$$eval('#whatif-diff .wi-section li', (li) => li.map((x) => x.textContent));
    assert.ok(removed.some((t) => t.includes('203.0.113.2') && t.includes('tcp/2222')), removed.join(' | '));

    const download = first.page.waitForEvent('download');
    await first.page.click('#session-save');
    const saved = await download;
    assert.match(saved.suggestedFilename(), /^portolan-session-\d{8}-\d{4}\.json$/);
    const file = path.join(RESULTS, 'session.json');
    await saved.saveAs(file);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(doc.portolan_session, 1);
    assert.equal(doc.sample, 'edge-fw');
    assert.deepEqual(doc.origins, ['internet', '10.0.0.0/24']);
    assert.deepEqual(doc.files.map((f) => [f.name, f.manifest]), [
      ['edge-fw/edge-fw.iptables', false],
      ['edge-fw/edge-fw.ip-addr', false],
      ['edge-fw/edge-fw.ip-route', false],
    ]);
    const onDisk = readFileSync(path.join(ROOT, 'www', 'samples', 'edge-fw', 'edge-fw.iptables'));
    assert.ok(Buffer.from(doc.files[0].base64, 'base64').equals(onDisk));
    assert.deepEqual(doc.whatif, [{ edit: 'delete-rule', file: 'edge-fw/edge-fw.iptables', line: 20 }]);
    assert.deepEqual(await storage(first.page), { local: 0, session: 0, idb: 0 });
    assert.deepEqual(first.rec.errors, []);
    assert.deepEqual(requestsSince(first.rec, startedAt), []);
    await first.context.close();

    // A fresh page opens it.
    const second = await env.open({ idle: 800 });
    const at2 = second.startedAt;
    await second.page.setInputFiles('#session-input', file);
    await second.page.waitForFunction(() => /^Session session\.json opened\. Loaded 3 files/.test(document.querySelector('#status').textContent));
    await waitForExposure(second.page);
    assert.deepEqual((await inputRows(second.page)).map((r) => [r.path, r.device]), [
      ['edge-fw/edge-fw.iptables', 'edge-fw'],
      ['edge-fw/edge-fw.ip-addr', 'edge-fw'],
      ['edge-fw/edge-fw.ip-route', 'edge-fw'],
    ]);
    assert.equal(await second.page.inputValue('#origins'), 'internet, 10.0.0.0/24');
    await second.page.waitForFunction(() => document.querySelectorAll('#exposure .origin').length === 2);
    assert.match(await second.page.textContent('#sample-info'), /Small office edge firewall/);
    await whatifDone(second.page);
    assert.equal(await second.page.textContent('#whatif-card .wi-summary').then((t) => t.replace(/\(analysed again in \d+ ms\)/, '')), summary.replace(/\(analysed again in \d+ ms\)/, ''));
    assert.deepEqual(await second.page.$$eval('#whatif-diff .wi-section li', (li) => li.map((x) => x.textContent)), removed);
    assert.deepEqual(await second.page.$$eval('#whatif-edits .wi-what', (li) => li.map((x) => x.textContent)), [`delete the rule at ${RULE}`]);
    await second.page.locator('#whatif-card').screenshot({ path: path.join(RESULTS, 'session-restored-whatif.png') });
    assert.deepEqual(await storage(second.page), { local: 0, session: 0, idb: 0 });
    assert.deepEqual(second.rec.errors, []);
    assert.deepEqual(requestsSince(second.rec, at2), []);
    await second.context.close();
  });

  test('a damaged, foreign or newer session is refused with a message saying why', T, async () => {
    const { page, context, rec } = await env.open();
    const good = { portolan_session: 1, sample: null, origins: [], files: [{ name: 'fw1.iptables', manifest: false, base64: Buffer.from('*filter\nCOMMIT\n').toString('base64') }], whatif: [] };
    const cases = [
      [JSON.stringify({ ...good, portolan_session: 7 }), /saved in session format 7 by a newer Portolan; this page reads format 1/],
      [JSON.stringify({ ...good, files: [{ name: 'x', base64: '@@@' }] }), /contents of file 1 \(x\) are not valid base64/],
      [JSON.stringify({ ...good, files: 'none' }), /"files" is missing or not a list/],
      [JSON.stringify({ ...good, whatif: [{ nope: 1 }] }), /"whatif" must be a list of edits/],
      ['{"portolan_session": 1, "files": [', /it is not valid JSON/],
    ];
    for (const [text, want] of cases) {
      const file = path.join(RESULTS, 'bad-session.json');
      writeFileSync(file, text);
      await page.setInputFiles('#session-input', file);
      await page.waitForFunction(() => document.querySelector('#status').classList.contains('error'));
      const status = await page.textContent('#status');
      assert.match(status, /^bad-session\.json could not be opened as a session: /);
      assert.match(status, want);
      await page.evaluate(() => document.querySelector('#status').classList.remove('error'));
    }
    // A good one, dropped like any file, opens.
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'mine.json', { type: 'application/json' }));
      document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
    }, JSON.stringify(good));
    await page.waitForFunction(() => /^Session mine\.json opened\. Loaded 1 file/.test(document.querySelector('#status').textContent));
    assert.deepEqual((await inputRows(page)).map((r) => r.path), ['fw1.iptables']);
    await shot(page, 'session-opened');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});
