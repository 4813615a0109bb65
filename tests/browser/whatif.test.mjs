// Browser tests of what-if: changes made from the exposure, attack path and findings views (a
// rule deleted or given another action, a service closed), the exposure and attack path diff shown
// at once, undo, and the change list exported as JSON and read back. Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, loadSample, networkIdle, openPage, requestsSince, RESULTS, startServer, waitForAttack, waitForExposure, waitForFindings } from './harness.mjs';

const T = { timeout: 150_000 };

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function settled(page) {
  await page.waitForSelector('#whatif-card:not([hidden]) .wi-summary, #whatif-card:not([hidden]) .notice');
}

const sections = (page) =>
  page.$$eval('#whatif-diff .wi-section', (ss) => Object.fromEntries(ss.map((s) => [s.querySelector('h3').textContent, [...s.querySelectorAll('li')].map((li) => li.textContent)])));

describe('what-if', () => {
  test('a rule deleted from an exposure path: the exposures it allowed go; undo brings them back', T, async () => {
    const { page, context, rec } = await openPage(browser, server.origin);
    await networkIdle(rec, 800);
    const startedAt = rec.requests.length;
    await loadSample(page, 'edge-fw');
    await waitForExposure(page);
    assert.ok(await page.locator('#whatif-card').isHidden());
    const row = page.locator('#exposure tr.exp-row', { has: page.locator('.svc', { hasText: /^tcp\/2222$/ }) }).first();
    await row.locator('.svc').click();
    // The forward's service is closed where it listens, on the build host.
    assert.equal(await page.locator('#exposure tr.exp-detail button.wi-close').first().textContent(), 'What if tcp/22 on 10.0.0.50 closed');
    const decision = page.locator('#exposure tr.exp-detail .decision', { has: page.locator('.loc', { hasText: 'edge-fw/edge-fw.iptables:20' }) }).first();
    await decision.locator('button.wi-open').click();
    // The rule accepts: "make it accept" is not offered.
    assert.equal(await decision.locator('button.wi-accept').count(), 0);
    await decision.locator('button.wi-delete').click();
    await settled(page);
    const s = await sections(page);
    // The exposures it allowed go (and the findings about the rule with them); nothing is added.
    assert.deepEqual(Object.keys(s).filter((k) => k.startsWith('Exposures')), ['Exposures removed (2)']);
    assert.ok(!Object.keys(s).some((k) => /added|opened|New/.test(k)), Object.keys(s).join(' | '));
    assert.deepEqual(s['Exposures removed (2)'].map((t) => t.replace(/\s+/g, ' ')).sort(), ['internet → 10.0.0.50 tcp/22 definite', 'internet → 203.0.113.2 edge-fw tcp/2222 definite']);
    assert.match(await page.textContent('#whatif-card .wi-summary'), /^With this change: \d+ exposures, 0 attack paths, \d+ findings, 0 policy violations/);
    await page.locator('#whatif-card').screenshot({ path: path.join(RESULTS, 'whatif-delete-rule.png') });
    // The same rule made to drop replaces the deletion (one rule, one fate).
    await decision.locator('button.wi-drop').click();
    await page.waitForFunction(() => document.querySelector('#whatif-edits .wi-what')?.textContent === 'make the rule at edge-fw/edge-fw.iptables:20 drop');
    await settled(page);
    assert.equal(await page.locator('#whatif-edits li').count(), 1);
    assert.deepEqual(Object.keys(await sections(page)).filter((k) => k.startsWith('Exposures')), ['Exposures removed (2)']);
    await page.click('#whatif-undo');
    await page.waitForSelector('#whatif-card[hidden]', { state: 'attached' });
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('closing a service on an attack path cuts paths; findings and export', T, async () => {
    const { page, context, rec } = await openPage(browser, server.origin);
    await networkIdle(rec, 800);
    const startedAt = rec.requests.length;
    await loadSample(page, 'dmz-db-vendor');
    await waitForAttack(page);
    await waitForFindings(page);
    const pathRow = page.locator('#attack tr.path-row').first();
    await pathRow.locator('.row-toggle').click();
    const step = page.locator('#attack li.attack-step').first();
    const close = step.locator('button.wi-close');
    const label = await close.textContent();
    const m = /^What if (tcp|udp)\/(\d+) on (\S+) closed$/.exec(label);
    assert.ok(m, label);
    await close.click();
    await settled(page);
    let s = await sections(page);
    const cut = Object.keys(s).find((k) => k.startsWith('Attack paths cut'));
    assert.ok(cut, JSON.stringify(s));
    assert.ok(s[cut].every((t) => t.includes(m[3])), s[cut].join(' | '));
    assert.deepEqual(await page.$$eval('#whatif-edits .wi-what', (l) => l.map((x) => x.textContent)), [`close ${m[1]}/${m[2]} on ${m[3]}`]);

    // A finding's rule deleted as well.
    const frow = page.locator('#findings tr.finding-row').first();
    await frow.locator('.row-toggle').click();
    const fdetail = page.locator('#findings tr.xdetail .finding-rule').first();
    await fdetail.locator('button.wi-open').click();
    await fdetail.locator('button.wi-delete').click();
    await page.waitForFunction(() => document.querySelectorAll('#whatif-edits li').length === 2);
    await settled(page);
    s = await sections(page);

    // Export: the edits with their descriptions, and the diff shown.
    const download = page.waitForEvent('download');
    await page.click('#whatif-export');
    const file = path.join(RESULTS, 'whatif.json');
    const d = await download;
    assert.equal(d.suggestedFilename(), 'portolan-whatif.json');
    await d.saveAs(file);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(doc.edits.length, 2);
    assert.deepEqual(doc.edits[0], { edit: 'close-port', addr: m[3], proto: m[1] === 'tcp' ? 6 : 17, port: Number(m[2]), description: `close ${m[1]}/${m[2]} on ${m[3]}` });
    assert.equal(doc.edits[1].edit, 'delete-rule');
    assert.deepEqual(doc.unmatched, []);
    const shownCut = Object.entries(s).find(([k]) => k.startsWith('Attack paths cut'));
    assert.equal(doc.diff.paths_removed.length, Number(/\((\d+)\)/.exec(shownCut[0])[1]));
    const shownRemoved = Object.entries(s).find(([k]) => k.startsWith('Findings resolved'));
    assert.equal(doc.diff.findings_removed.length, shownRemoved ? Number(/\((\d+)\)/.exec(shownRemoved[0])[1]) : 0);
    assert.ok(doc.diff.findings_removed.length > 0, 'deleting the rule a finding is about resolves it');
    assert.equal(typeof doc.after.exposures, 'number');
    await page.locator('#whatif-card').screenshot({ path: path.join(RESULTS, 'whatif-attack.png') });

    // Undo one, then clear.
    await page.click('#whatif-undo');
    await page.waitForFunction(() => document.querySelectorAll('#whatif-edits li').length === 1);
    await settled(page);
    await page.click('#whatif-clear');
    await page.waitForSelector('#whatif-card[hidden]', { state: 'attached' });
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });
});
