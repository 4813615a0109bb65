// Browser tests of the Overview card and of the progress bar with Cancel. The overview of the
// bundled sample "dmz-db-vendor" is compared with what the native CLI reports for the same files
// (target/debug/portolan, or PORTOLAN_BIN); a generated ruleset big enough to keep the analyzer
// busy is loaded and cancelled, after which the page must keep its results and answer a new
// question. Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ask, requestsSince, sampleInfo, sampleReport, shot, useBrowser, waitForExposure } from './harness.mjs';

const T = { timeout: 180_000 };
const SAMPLE = 'dmz-db-vendor';
const INFO = sampleInfo(SAMPLE);

/** An iptables-save ruleset of `n` forwarding rules, each for other addresses and ports. */
function bigRuleset(n) {
  const lines = ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]'];
  for (let i = 0; i < n; i++) {
    const src = `10.${i % 250}.${Math.floor(i / 250) % 250}.0/24`;
    const dst = `172.16.${(i * 7) % 250}.${(i * 13) % 250}/32`;
    lines.push(`-A FORWARD -s ${src} -d ${dst} -p tcp -m tcp --dport ${1 + ((i * 31) % 65000)} -j ${i % 3 ? 'ACCEPT' : 'DROP'}`);
  }
  lines.push('COMMIT', '');
  return Buffer.from(lines.join('\n'));
}

/** The figures of the Overview card as shown. */
function overview(page) {
  return page.evaluate(() => {
    const fig = (k) => document.querySelector(`#overview-figures [data-figure="${k}"]`);
    const text = (el) => (el ? el.textContent.replace(/\s+/g, ' ').trim() : null);
    return {
      internet: text(fig('internet')?.querySelector('.ov-value')),
      internetDetail: text(fig('internet')?.querySelector('.ov-detail')),
      attack: text(fig('attack')?.querySelector('.ov-value')),
      attackPath: text(fig('attack')?.querySelector('.ov-path')),
      findings: text(fig('findings')?.querySelector('.ov-value')),
      top: [...(fig('findings')?.querySelectorAll('.ov-top li') ?? [])].map(text),
      coverage: text(fig('coverage')?.querySelector('.ov-value')),
      coverageDetail: text(fig('coverage')?.querySelector('.ov-detail')),
      summary: text(document.querySelector('#overview-summary')),
      rolesSummary: text(document.querySelector('#summary-doc')),
      notices: document.querySelectorAll('.notice.error, .notice-error').length,
    };
  });
}

const env = useBrowser();

describe('overview', () => {
  test('the overview of dmz-db-vendor agrees with the CLI, and its links lead to the views', T, async () => {
    const { page, context, rec, startedAt } = await env.openSample(SAMPLE, { idle: 1000 });
    await page.waitForSelector('#overview-figures .ov-logins');
    await page.waitForFunction(() => document.querySelector('#overview-summary').textContent.length > 0);
    const ref = sampleReport(SAMPLE);
    const shown = await overview(page);

    // The first result link is the overview.
    assert.equal(await page.$eval('#views-nav a', (a) => a.getAttribute('href')), '#overview-card');
    const inet = ref.exposures.filter((e) => e.origin === 'internet');
    const definite = inet.filter((e) => e.certainty === 'definite').length;
    assert.equal(shown.internet, `${inet.length} ${inet.length === 1 ? 'service' : 'services'}`);
    assert.match(shown.internetDetail, new RegExp(`^${definite} definite · ${inet.length - definite} possible · \\d+ (login or database|logins and databases)$`));
    assert.equal(shown.attack, `${ref.attack_paths.length} paths`);
    const best = ref.attack_paths.reduce((a, p) => (a === null || p.likelihood > a.likelihood ? p : a), null);
    assert.ok(shown.attackPath.startsWith(`Most likely: ${best.origin} → `), shown.attackPath);
    assert.ok(shown.attackPath.includes(best.target), shown.attackPath);
    assert.equal(shown.findings, `${ref.findings.length} findings`);
    assert.deepEqual(
      shown.top,
      ref.findings.slice(0, 3).map((f) => `${f.severity} ${f.code} ${f.file}:${f.line}`),
    );
    const counted = ref.inputs.reduce((n, i) => n + i.lines.total - i.lines.skipped, 0);
    const understood = ref.inputs.reduce((n, i) => n + i.lines.total - i.lines.skipped - i.lines.unrecognized, 0);
    assert.equal(shown.coverage, `${Math.floor((understood / counted) * 1000) / 10}% of lines recognised`);
    assert.equal(shown.coverageDetail, `${ref.inputs.length} files · ${ref.devices.length} devices · ${understood} of ${counted} lines`);
    // The summary beside it is the one the Responsibilities card shows.
    assert.ok(shown.summary.startsWith('Network security summary'), shown.summary.slice(0, 80));
    assert.equal(shown.summary, shown.rolesSummary);
    assert.equal(shown.notices, 0);

    // A figure leads to its view: the top finding's code filters the findings.
    const code = ref.findings[0].code;
    await page.click(`#overview-figures [data-figure="findings"] .ov-top li:first-child a`);
    assert.equal(await page.inputValue('#findings-filter'), code);
    const findingCodes = await page.$$eval('#findings tr.finding-row .fcode .code', (els) => els.map((e) => e.textContent));
    assert.ok(findingCodes.length > 0 && findingCodes.every((c) => c === code), findingCodes.join(' '));
    const top = await page.$eval('#findings-card', (el) => el.getBoundingClientRect().top);
    assert.ok(Math.abs(top) < 5, `the findings card is at ${top}`);

    await page.$eval('#overview-card', (el) => el.scrollIntoView());
    await shot(page, 'overview');
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('Cancel stops a slow analysis and keeps the earlier results, marked as not updated', T, async () => {
    const { page, context, rec, startedAt } = await env.openSample(SAMPLE, { idle: 1000 });
    await page.waitForSelector('#overview-figures .ov-logins');
    const before = await overview(page);
    const rowsBefore = await page.$$eval('#exposure tr.exp-row', (rows) => rows.length);
    assert.ok(rowsBefore > 0);

    // Thousands of origins keep the analyzer busy for seconds (see cancel.test.mjs).
    const many = [];
    for (let i = 0; i < 2400; i++) many.push(`10.${30 + (i % 200)}.${Math.floor(i / 200)}.0/24`);
    await page.fill('#origins', many.join(', '));
    await page.click('#analyze-button');
    await page.waitForSelector('#progress:not([hidden])');
    assert.equal(await page.textContent('#progress-what'), 'Analysing…');
    await page.click('#progress-cancel');
    await page.waitForSelector('#progress', { state: 'hidden' });
    assert.equal(await page.textContent('#status'), 'Analysing was cancelled. The results shown are the earlier ones.');
    // The earlier results are back, marked as not updated; no error anywhere.
    assert.ok(await page.locator('#overview-stale').isVisible());
    assert.match(await page.textContent('#overview-stale'), /^Not updated: the analysis of 2400 origins was cancelled\. The results below are the earlier ones, for internet, vendor, phished\.$/);
    assert.ok(await page.evaluate(() => document.body.classList.contains('stale')));
    assert.equal(await page.$$eval('#exposure tr.exp-row', (rows) => rows.length), rowsBefore);
    const kept = await overview(page);
    assert.deepEqual(kept, before);
    assert.equal(await page.locator('.notice').count(), 0);

    // The new worker has the files: it answers a question, and an analysis clears the mark.
    const res = await ask(page, { from: 'internet', to: '192.168.10.20', proto: 'tcp', port: '443' });
    assert.equal(res.error, null, res.text);
    assert.ok(res.verdict, res.text);
    await page.fill('#origins', '');
    await page.click('#analyze-button');
    await waitForExposure(page);
    await page.waitForSelector('#overview-figures .ov-logins');
    assert.equal(await page.locator('#overview-stale').isVisible(), false);
    assert.deepEqual((await overview(page)).internet, before.internet);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('Cancel stops a slow load, keeps the results and the page answers afterwards', T, async () => {
    const { page, context, rec, startedAt } = await env.openSample(SAMPLE, { idle: 1000 });
    await page.waitForSelector('#overview-figures .ov-logins');
    const before = await overview(page);
    const status = await page.textContent('#status');

    await page.setInputFiles('#file-input', { name: 'big.iptables', mimeType: 'text/plain', buffer: bigRuleset(120_000) });
    await page.waitForSelector('#progress:not([hidden])');
    assert.match(await page.textContent('#progress-what'), /^(Loading the files: (reading 1 of 1, big\.iptables|assembling the network from 1 file)|Analysing)…$/);
    assert.match(await page.textContent('#progress-time'), /^\d+\.\d s$/);
    await shot(page, 'overview-progress');
    await page.click('#progress-cancel');
    await page.waitForSelector('#progress', { state: 'hidden' });
    assert.match(await page.textContent('#status'), /cancelled\. The results shown are the earlier ones\.$/);

    // The earlier inputs and results stay, and the new worker answers a question on them.
    assert.equal(await page.$$eval('#inputs-table tbody tr:not(.diag-row)', (rows) => rows.length), INFO.files.length);
    const res = await ask(page, { from: 'internet', to: '192.168.10.20', proto: 'tcp', port: '443' });
    assert.equal(res.error, null, res.text);
    assert.ok(res.verdict, res.text);
    const after = await overview(page);
    assert.equal(after.internet, before.internet);
    assert.equal(after.attack, before.attack);
    assert.equal(after.notices, 0);
    // Analysing again works as well.
    await page.click('#analyze-button');
    await waitForExposure(page);
    await page.waitForSelector('#overview-figures .ov-logins');
    assert.equal((await overview(page)).internet, before.internet);
    assert.notEqual(status, '');
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });
});
