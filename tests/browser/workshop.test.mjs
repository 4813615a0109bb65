// Browser test of the workshop samples: every sample with guided questions shows them, hints and
// answers stay hidden until asked for, and an answer can be found in the views (the multi-site
// network's vendor reaching the ERP database over SSH). Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { ask, exposureRows, loadSample, requestsSince, RESULTS, SAMPLE_INDEX, SAMPLES, useBrowser, waitForExposure } from './harness.mjs';

const T = { timeout: 120_000 };

const env = useBrowser();

describe('workshops', () => {
  test('each workshop sample shows its questions; answers on request, checkable in the views', T, async () => {
    const { page, context, rec, startedAt } = await env.open({ idle: 800 });
    const withWorkshop = SAMPLE_INDEX.samples.filter((s) => s.workshop);
    assert.ok(withWorkshop.length >= 3);
    for (const s of withWorkshop) {
      const doc = JSON.parse(readFileSync(path.join(SAMPLES, s.workshop), 'utf8'));
      await loadSample(page, s.id);
      await page.waitForSelector('#workshop-card:not([hidden])');
      assert.equal(await page.textContent('#workshop-title'), doc.title);
      assert.deepEqual(await page.$$eval('#workshop-list .ws-text', (l) => l.map((x) => x.textContent)), doc.questions.map((q) => q.question));
      assert.equal(await page.locator('#workshop-list .ws-answer:visible').count(), 0, 'answers are hidden until asked for');
      const first = page.locator('#workshop-list .ws-question').first();
      await first.locator('.ws-show-answer').click();
      assert.equal(await first.locator('.ws-answer').textContent(), doc.questions[0].answer);
      assert.ok(await first.locator('.ws-answer').isVisible());
      await first.locator('.ws-show-answer').click();
      assert.ok(await first.locator('.ws-answer').isHidden());
    }
    // The multi-site workshop's first answer, in the exposure view and in a query.
    await loadSample(page, 'multi-site');
    await waitForExposure(page);
    const rows = await exposureRows(page);
    assert.ok(rows.some((r) => r.origin === 'vendor' && r.ip === '10.10.1.21' && r.service === 'tcp/22' && r.certainty === 'definite'), JSON.stringify(rows.filter((r) => r.origin === 'vendor')));
    const a = await ask(page, { from: '172.20.0.5', to: '10.10.1.21', proto: 'tcp', port: '22' });
    assert.equal(a.verdict, 'allowed', a.text);
    const q = page.locator('#workshop-list .ws-question').first();
    await q.locator('.ws-show-hint').click();
    await q.locator('.ws-show-answer').click();
    await page.locator('#workshop-card').screenshot({ path: path.join(RESULTS, 'workshop-multi-site.png') });
    // A file of the sample removed: the set is no longer the sample, and its workshop goes.
    const scan = page.locator('#inputs-table tbody tr', { has: page.locator('td.path[title="multi-site/scan.xml"]') });
    await scan.locator('button.file-remove').click();
    await page.waitForFunction(() => /^Removed multi-site\/scan\.xml\. Loaded 7 files/.test(document.querySelector('#status').textContent));
    await page.waitForSelector('#workshop-card[hidden]', { state: 'attached' });
    assert.ok(await page.locator('#sample-info').isHidden());
    await loadSample(page, 'multi-site');
    await page.waitForSelector('#workshop-card:not([hidden])');
    // Leaving for one's own files hides the workshop.
    await page.setInputFiles('#file-input', { name: 'fw.iptables', mimeType: 'text/plain', buffer: Buffer.from('*filter\n:INPUT DROP [0:0]\nCOMMIT\n') });
    await page.waitForSelector('#workshop-card[hidden]', { state: 'attached' });
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });
});
