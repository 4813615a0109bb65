// Browser tests of what-if: changes made from the exposure, attack path and findings views (a
// rule deleted or given another action or rewritten in its source line, a service closed), the
// exposure and attack path diff shown at once, undo, and the change list exported as JSON and
// read back, and kept in a saved session. Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { loadSample, requestsSince, RESULTS, ROOT, useBrowser, waitForAttack, waitForExposure, waitForFindings } from './harness.mjs';

const T = { timeout: 150_000 };

const env = useBrowser();

async function settled(page) {
  await page.waitForSelector('#whatif-card:not([hidden]) .wi-summary, #whatif-card:not([hidden]) .notice');
}

const sections = (page) =>
  page.$$eval('#whatif-diff .wi-section', (ss) => Object.fromEntries(ss.map((s) => [s.querySelector('h3').textContent, [...s.querySelectorAll('li')].map((li) => li.textContent)])));

describe('what-if', () => {
  test('a rule deleted from an exposure path: the exposures it allowed go; undo brings them back', T, async () => {
    const { page, context, rec, startedAt } = await env.openSample('edge-fw');
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
    const { page, context, rec, startedAt } = await env.open({ idle: 800 });
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

  test('a FortiGate policy edited whole: the editor holds its block from edit to next, and the change is read again', T, async () => {
    const { page, context } = await env.open();
    const fixture = path.join(ROOT, 'tests', 'golden', 'fortigate', 'vdom-link.conf');
    const text = readFileSync(fixture, 'utf8');
    await page.setInputFiles('#file-input', { name: 'vdom-link.conf', mimeType: 'text/plain', buffer: Buffer.from(text) });
    await waitForExposure(page);
    const row = page.locator('#exposure tr.exp-row', { has: page.locator('.svc', { hasText: /^tcp\/443$/ }) }).filter({ hasText: '203.0.113.10' }).first();
    await row.locator('.svc').click();
    // Policy 2 of the root VDOM ("web-in") lets the Internet reach the VIP: lines 98–107.
    const decision = page.locator('#exposure tr.exp-detail .decision', { has: page.locator('.loc', { hasText: 'vdom-link.conf:98' }) }).first();
    await decision.locator('button.wi-open').click();
    await decision.locator('button.wi-rewrite').click();
    const area = page.locator('#exposure .wi-rewrite-form textarea').first();
    await area.waitFor();
    const block = text.split('\n').slice(97, 107);
    assert.equal(block[0].trim(), 'edit 2');
    assert.equal(block[block.length - 1].trim(), 'next');
    assert.equal(await area.inputValue(), block.join('\n'));
    assert.match(await page.locator('#exposure .wi-rewrite-form label').first().textContent(), /^The rule at vdom-link\.conf:98–107, as it would be written$/);
    await area.fill(block.join('\n').replace('set action accept', 'set action deny'));
    await page.locator('#exposure .wi-rewrite-form .wi-try').first().click();
    await settled(page);
    const s = await sections(page);
    const removed = Object.keys(s).find((k) => k.startsWith('Exposures removed'));
    assert.ok(removed, Object.keys(s).join(' | '));
    assert.ok(s[removed].some((t) => /internet → 203\.0\.113\.10 .*tcp\/443/.test(t.replace(/\s+/g, ' '))), s[removed].join(' | '));
    assert.ok(!Object.keys(s).some((k) => k.startsWith('Exposures added')), Object.keys(s).join(' | '));
    assert.equal(await page.locator('#whatif-edits .wi-reread').count(), 0, 'the reader understood the new block');
    await page.locator('#whatif-card').screenshot({ path: path.join(RESULTS, 'whatif-rewrite-block.png') });
    await context.close();
  });

  test("a rule's port edited in its source line: the exposure diff, the reader's diagnostics, export, session and undo", T, async () => {
    const { page, context, rec, startedAt } = await env.openSample('edge-fw');
    const row = page.locator('#exposure tr.exp-row', { has: page.locator('.svc', { hasText: /^tcp\/2222$/ }) }).first();
    await row.locator('.svc').click();
    const decision = page.locator('#exposure tr.exp-detail .decision', { has: page.locator('.loc', { hasText: 'edge-fw/edge-fw.iptables:20' }) }).first();
    await decision.locator('button.wi-open').click();
    await decision.locator('button.wi-rewrite').click();
    // The box holds the rule as written (line 20 of the file), and has the focus.
    const area = page.locator('#exposure .wi-rewrite-form textarea').first();
    await area.waitFor();
    const written = readFileSync(path.join(ROOT, 'www', 'samples', 'edge-fw', 'edge-fw.iptables'), 'utf8').split('\n')[19];
    assert.equal(await area.inputValue(), written);
    assert.ok(await area.evaluate((el) => el === document.activeElement));
    assert.match(await page.locator('#exposure .wi-rewrite-form label').first().textContent(), /^The rule at edge-fw\/edge-fw\.iptables:20, as it would be written$/);
    // Unchanged text is not a change.
    await page.locator('#exposure .wi-rewrite-form .wi-try').first().click();
    assert.ok(await page.locator('#whatif-card').isHidden());
    const edited = written.replace('--dport 22 ', '--dport 2200 ');
    assert.notEqual(edited, written);
    await area.fill(edited);
    await page.locator('#exposure .wi-rewrite-form .wi-try').first().click();
    await settled(page);
    let s = await sections(page);
    assert.deepEqual(Object.keys(s).filter((k) => k.startsWith('Exposures')), ['Exposures removed (2)', 'Exposures added (1)']);
    assert.deepEqual(s['Exposures removed (2)'].map((t) => t.replace(/\s+/g, ' ')).sort(), ['internet → 10.0.0.50 tcp/22 definite', 'internet → 203.0.113.2 edge-fw tcp/2222 definite']);
    assert.deepEqual(s['Exposures added (1)'].map((t) => t.replace(/\s+/g, ' ')), ['internet → 10.0.0.50 tcp/2200 definite']);
    assert.deepEqual(await page.$$eval('#whatif-edits .edit-kind', (l) => l.map((x) => x.textContent)), ['edit rule']);
    assert.equal(await page.textContent('#whatif-edits .wi-what'), `rewrite edge-fw/edge-fw.iptables:20 as ${JSON.stringify(edited)}`);
    assert.equal(await page.locator('#whatif-edits .wi-reread').count(), 0, 'the reader understood the new line');
    await page.locator('#whatif-card').screenshot({ path: path.join(RESULTS, 'whatif-rewrite.png') });

    // Export: the edit with its text.
    const download = page.waitForEvent('download');
    await page.click('#whatif-export');
    const file = path.join(RESULTS, 'whatif-rewrite.json');
    await (await download).saveAs(file);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(doc.edits[0], { edit: 'replace-lines', file: 'edge-fw/edge-fw.iptables', line: 20, count: 1, text: edited, description: `rewrite edge-fw/edge-fw.iptables:20 as ${JSON.stringify(edited)}` });
    assert.deepEqual(doc.reread, [{ file: 'edge-fw/edge-fw.iptables', line: 20, diagnostics: [] }]);
    assert.equal(doc.diff.exposures_added.length, 1);

    // A saved session keeps the edit; opened again, the same diff comes back.
    const saved = page.waitForEvent('download');
    await page.click('#session-save');
    const sessionFile = path.join(RESULTS, 'whatif-rewrite-session.json');
    await (await saved).saveAs(sessionFile);
    const session = JSON.parse(readFileSync(sessionFile, 'utf8'));
    assert.deepEqual(session.whatif, [{ edit: 'replace-lines', file: 'edge-fw/edge-fw.iptables', line: 20, count: 1, text: edited }]);
    await page.click('#whatif-clear');
    await page.waitForSelector('#whatif-card[hidden]', { state: 'attached' });
    await page.setInputFiles('#session-input', sessionFile);
    await settled(page);
    s = await sections(page);
    assert.deepEqual(Object.keys(s).filter((k) => k.startsWith('Exposures')), ['Exposures removed (2)', 'Exposures added (1)']);

    // A line the reader cannot read: its diagnostics are shown, nothing fails; it replaces the
    // earlier edit of the same rule (one rule, one fate).
    // The session's inputs were loaded again: the row is drawn anew, closed.
    if ((await page.locator('#exposure tr.exp-detail .decision').count()) === 0) await row.locator('.svc').click();
    await page.waitForSelector('#exposure tr.exp-detail .decision');
    const again = page.locator('#exposure tr.exp-detail .decision', { has: page.locator('.loc', { hasText: 'edge-fw/edge-fw.iptables:20' }) }).first();
    await again.locator('button.wi-open').click();
    await again.locator('button.wi-rewrite').click();
    const area2 = page.locator('#exposure .wi-rewrite-form textarea').first();
    await area2.waitFor();
    await area2.fill(written.replace('--dport 22 ', '--dport twenty-two '));
    await page.locator('#exposure .wi-rewrite-form .wi-try').first().click();
    await page.waitForSelector('#whatif-edits .wi-reread');
    assert.equal(await page.locator('#whatif-edits li.wi-edit').count(), 1);
    const note = await page.textContent('#whatif-edits .wi-reread');
    assert.match(note, /line 20: .*twenty-two/);
    assert.equal(await page.locator('#whatif-card .notice.error').count(), 0);

    // Undo: the edit goes, and with it the card.
    await page.click('#whatif-undo');
    await page.waitForSelector('#whatif-card[hidden]', { state: 'attached' });
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });
});
