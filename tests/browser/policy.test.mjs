// Browser tests of the Policy and Responsibilities views on the bundled sample
// "dmz-db-vendor-policy" (the dmz-db-vendor configs and scans with management's policy,
// tests/golden/policy/policy.yaml, as the manifest). What the page shows is compared with what
// the native CLI reports for the same files (target/debug/portolan, built by `cargo build` or
// `cargo test`), and a changed policy must change the view. Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { accessibleNames, analyzeSample, inputRows, loadSample, requestsSince, ROOT, sampleInfo, sampleReport, SAMPLES, scrollToTop, shot, useBrowser, waitForExposure } from './harness.mjs';

const T = { timeout: 120_000 };
const SAMPLE = 'dmz-db-vendor-policy';
const INFO = sampleInfo(SAMPLE);
const HEX64 = /^[0-9a-f]{64}$/;

const env = useBrowser();

/** The native CLI's output for the sample's files, run where the page's paths are the same. */
const cli = (format) => analyzeSample(SAMPLE, format);
const reference = () => sampleReport(SAMPLE);

/** Open the page, load the policy sample and wait for every view it fills. */
const policySample = (opts) =>
  env.openSample(SAMPLE, {
    ...opts,
    ready: async (page) => {
      await waitForPolicy(page);
      await waitForRoles(page);
    },
  });

async function waitForPolicy(page) {
  await page.waitForSelector('#policy .matrix-section, #policy .no-policy, #policy .notice');
}

async function waitForRoles(page) {
  await page.waitForSelector('#roles .role, #roles .notice');
  await page.waitForSelector('#summary-doc .md, #roles .notice');
}

/**
 * The grid's cells as shown: row and column headers, services, unused services, the mark, and the
 * accessible name of the cell's button.
 */
async function gridCells(page) {
  const names = await accessibleNames(page, '#policy table.matrix-grid tbody td .cell-button');
  const cells = await page.$$eval('#policy table.matrix-grid tbody td', (tds) =>
    tds.map((td) => {
      const table = td.closest('table');
      const b = td.querySelector('.cell-button');
      return {
        from: td.parentElement.querySelector('th').textContent,
        to: table.tHead.rows[0].cells[td.cellIndex].textContent,
        id: b ? b.dataset.id : null,
        services: b ? [...b.querySelectorAll('.svc-chip')].map((c) => c.textContent) : [],
        unused: b ? [...b.querySelectorAll('.svc-chip.svc-unused')].map((c) => c.textContent) : [],
        mark: b ? b.querySelector('.cell-mark').textContent : td.textContent,
      };
    }),
  );
  // Chromium puts a space between the button's laid-out parts, before a hidden comma too; screen
  // readers do not read it.
  return cells.map((c) => ({ ...c, label: c.id === null ? null : names.shift().replace(/ ([,;])/g, '$1') }));
}

/** The assertions table's rows as shown. */
async function assertionRows(page) {
  return page.$$eval('#policy table.assertions tr.assertion-row', (rows) =>
    rows.map((r) => ({
      id: r.dataset.id,
      kind: r.querySelector('.akind').textContent,
      status: r.querySelector('.astatus .pstatus').textContent,
      count: r.querySelector('.avcount')?.textContent ?? '',
      line: r.querySelector('.aline').textContent,
      expandable: r.querySelector('.row-toggle') !== null,
    })),
  );
}

/** The source viewer's title and highlighted line after clicking `link`. */
async function openSource(page, link) {
  await link.click();
  await page.waitForSelector('#source-dialog[open] .src-line.current');
  const result = { title: await page.textContent('#source-title'), current: await page.textContent('#source-dialog .src-line.current') };
  await page.keyboard.press('Escape');
  await page.waitForSelector('#source-dialog:not([open])', { state: 'attached' });
  return result;
}

const witnessText = (w) => `${w.proto} ${w.src}${w.sport != null ? `:${w.sport}` : ''} → ${w.dst}${w.port != null ? `:${w.port}` : ''}`;

async function download(page, selector) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  assert.equal(await d.failure(), null);
  assert.match(d.url(), /^blob:/);
  return { name: d.suggestedFilename(), text: readFileSync(await d.path(), 'utf8') };
}

describe('the policy sample', () => {
  test("it loads the dmz-db-vendor configs and scans with management's policy as the manifest", T, async () => {
    // The page's copy of the policy is the test fixture itself.
    assert.equal(INFO.manifest, `${SAMPLE}/policy.yaml`);
    assert.equal(readFileSync(path.join(SAMPLES, INFO.manifest), 'utf8'), readFileSync(path.join(ROOT, 'tests', 'golden', 'policy', 'policy.yaml'), 'utf8'));
    const { page, context, rec, startedAt } = await policySample();
    const rows = await inputRows(page);
    assert.deepEqual(
      rows.map((r) => [r.path, r.status]),
      [...INFO.files, INFO.manifest].map((f) => [f, 'ok']),
    );
    assert.equal(rows.at(-1).format, 'portolan manifest');
    assert.deepEqual(await page.$$eval('#devices .device h3', (els) => els.map((e) => e.textContent).sort()), ['core', 'edge']);
    assert.equal(await page.inputValue('#origins'), 'internet, vendor, phished');
    assert.ok(await page.locator('#policy-card').isVisible());
    assert.ok(await page.locator('#roles-card').isVisible());
    // The section links lead to both views.
    assert.deepEqual(await page.$$eval('#views-nav a', (as) => as.map((a) => a.getAttribute('href'))), [
      '#overview-card',
      '#map-card',
      '#exposure-card',
      '#attack-card',
      '#findings-card',
      '#policy-card',
      '#roles-card',
      '#matrix-card',
      '#workspace',
      '#query-title',
    ]);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });
});

describe('policy view', () => {
  test('the zone matrix grid: lan → data violated, lan → dmz tcp/80 unused, every cell as the core reports it', T, async () => {
    const { page, context, rec, startedAt } = await policySample();
    const cells = await gridCells(page);
    const cell = (from, to) => cells.find((c) => c.from === from && c.to === to);
    const lanData = cell('lan', 'data');
    assert.equal(lanData.id, 'matrix:zone:lan->zone:data');
    assert.equal(lanData.mark, '✕ 1');
    assert.deepEqual(lanData.services, []);
    assert.equal(lanData.label, 'lan to data: nothing allowed; violated, 1 violation');
    const lanDmz = cell('lan', 'dmz');
    assert.deepEqual(lanDmz.services, ['tcp/22', 'tcp/80']);
    assert.deepEqual(lanDmz.unused, ['tcp/80']);
    assert.equal(lanDmz.label, 'lan to dmz: allows tcp/22, tcp/80; unused: tcp/80; holds');
    assert.equal(cell('internet', 'dmz').mark, '✓');
    assert.equal(cell('lan', 'lan').id, null, 'the diagonal is no cell');

    // Every cell with an entry is the core's matrix entry, and only those have one.
    const ref = reference();
    const matrix = ref.policy_entries.filter((e) => e.kind === 'matrix');
    assert.deepEqual(cells.filter((c) => c.id).map((c) => c.id).sort(), matrix.map((e) => e.id).sort());
    const label = (e) => e.replace(/^zone:/, '');
    for (const e of matrix) {
      const c = cells.find((x) => x.id === e.id);
      assert.equal(c.from, label(e.from));
      assert.equal(c.to, label(e.to));
      assert.deepEqual(c.services, e.services);
      assert.deepEqual(c.unused, ref.unused_policy.filter((u) => u.id === e.id).map((u) => u.service));
      const mark = { holds: '✓', violated: `✕ ${e.violations}`, 'possibly violated': `? ${e.violations}`, 'not checked': 'not checked' }[e.status];
      assert.equal(c.mark, mark, e.id);
    }
    // Axes: the Internet first, then the zones.
    assert.deepEqual(await page.$$eval('#policy .matrix-grid thead th.to-name', (ths) => ths.map((t) => t.textContent)), ['internet', 'apps', 'data', 'dmz', 'lan']);

    // A cell opens its violation: the witness, the class, certainty, owner and the path.
    await page.click('#policy .cell-button[data-id="matrix:zone:lan->zone:data"]');
    const detail = page.locator('#matrix-cell-detail');
    await detail.locator('.violation').waitFor();
    const v = ref.violations.find((x) => x.id === 'matrix:zone:lan->zone:data');
    assert.equal(await detail.locator('h4').textContent(), 'From lan to data');
    assert.equal(await detail.locator('.violation-msg').textContent(), v.message);
    assert.equal(await detail.locator('.witness-flow').textContent(), witnessText(v.witness));
    assert.equal(await detail.locator('.violating-set').textContent(), v.set);
    assert.equal(await detail.locator('.violation .owner').textContent(), v.owner);
    assert.equal(await detail.locator('.violation .cert').textContent(), v.certainty);
    assert.equal(await detail.locator('.hop').count(), v.hops.length);
    assert.equal(await detail.locator('.cell-detail-head .loc').textContent(), 'not in the matrix');
    await scrollToTop(page, '#policy-card');
    await shot(page, 'policy');
    await scrollToTop(page, '#matrix-cell-detail', 60);
    await shot(page, 'policy-cell');

    // The unused allowance: why nothing passes, its owner, and the manifest's line.
    await page.click('#policy .cell-button[data-id="matrix:zone:lan->zone:dmz"]');
    await detail.locator('.unused').waitFor();
    assert.equal(await page.getAttribute('#policy .cell-button[data-id="matrix:zone:lan->zone:data"]', 'aria-expanded'), 'false');
    const u = ref.unused_policy.find((x) => x.id === 'matrix:zone:lan->zone:dmz');
    assert.equal(await detail.locator('.unused .svc-chip').textContent(), 'tcp/80');
    assert.equal(await detail.locator('.unused .owner').textContent(), 'management');
    assert.equal(await detail.locator('.unused .reason').textContent(), u.reason);
    assert.equal(await detail.locator('.unused .witness-flow').textContent(), witnessText(u.witness));
    const src = await openSource(page, detail.locator('.cell-detail-head .loc'));
    assert.equal(src.title, `${INFO.manifest}, line 22`);
    assert.match(src.current, /^22\s*- \{from: lan, to: dmz, allow: \[tcp\/22, tcp\/80\]\}$/);
    // The same cell again closes it.
    await page.click('#policy .cell-button[data-id="matrix:zone:lan->zone:dmz"]');
    assert.equal(await detail.textContent(), '');
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('NO-LAN-DB opens to its witness and path; the hop names core.iptables:13, which opens the source viewer', T, async () => {
    const { page, context, rec, startedAt } = await policySample();
    const ref = reference();
    const rows = await assertionRows(page);
    const entries = ref.policy_entries.filter((e) => e.kind !== 'matrix');
    const KIND = { 'must-not-reach': 'must not reach', 'must-reach': 'must reach', 'vendor-scope': 'vendor scope' };
    assert.deepEqual(
      rows.map((r) => [r.id, r.kind, r.status, r.count, r.line, r.expandable]),
      entries.map((e) => [e.id, KIND[e.kind], e.status, e.violations ? `${e.violations} violation${e.violations === 1 ? '' : 's'}` : '', `${INFO.manifest}:${e.line}`, e.violations > 0]),
    );
    assert.deepEqual(
      rows.filter((r) => r.status === 'violated').map((r) => r.id),
      ['NO-LAN-DB', 'NO-INET-SHOP', 'LAN-SHOP', 'V2'],
    );
    assert.match(await page.textContent('#policy-summary'), /5 violated.*10 holds.*1 unused allowance/);

    const row = page.locator('#policy tr.assertion-row[data-id="NO-LAN-DB"]');
    assert.equal(await row.locator('.row-toggle').getAttribute('aria-label'), 'Violations of NO-LAN-DB, must not reach: violated');
    await row.locator('.row-toggle').click();
    const detail = page.locator('#policy tr.assertion-detail');
    await detail.waitFor();
    const witness = await detail.locator('.witness-flow').textContent();
    assert.match(witness, /^tcp 10\.20\.3\.\d+:\d+ → 10\.20\.2\.5:5432$/);
    const v = ref.violations.find((x) => x.id === 'NO-LAN-DB');
    assert.equal(witness, witnessText(v.witness));
    assert.equal(await detail.locator('.violating-set').textContent(), v.set);
    assert.equal(await detail.locator('.violation .owner').textContent(), 'it');
    assert.equal(await detail.locator('.violation .cert').textContent(), 'definite');
    const hop = detail.locator('.hop').filter({ has: page.locator('.loc', { hasText: 'dmz-db-vendor/core/core.iptables:13' }) });
    assert.equal(await hop.count(), 1);
    assert.equal(await hop.locator('.hop-device').textContent(), 'core');
    await scrollToTop(page, '#policy .assertions-section');
    await shot(page, 'policy-assertion');
    const src = await openSource(page, hop.locator('.loc', { hasText: 'dmz-db-vendor/core/core.iptables:13' }));
    assert.equal(src.title, 'dmz-db-vendor/core/core.iptables, line 13');
    assert.match(src.current, /^13-A FORWARD -s 10\.20\.3\.0\/24 -d 10\.20\.2\.5\/32 .*--dport 5432/);
    // The entry's line in the manifest.
    const entry = await openSource(page, row.locator('.aline .loc'));
    assert.equal(entry.title, `${INFO.manifest}, line 26`);
    assert.match(entry.current, /id: NO-LAN-DB/);
    // A holding entry opens nothing.
    assert.equal(await page.locator('#policy tr.assertion-row[data-id="APP-DB"] .row-toggle').count(), 0);
    // Collapse from the keyboard.
    await row.locator('.row-toggle').focus();
    await page.keyboard.press('Enter');
    assert.equal(await detail.count(), 0);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('a changed policy changes both views: nothing of them is fixed in the page', T, async () => {
    const { page, context, rec } = await env.open();
    const policy = readFileSync(path.join(SAMPLES, INFO.manifest), 'utf8')
      .replace('- {from: apps, to: data, allow: [tcp/5432]}', '- {from: apps, to: data, allow: [tcp/5432]}\n    - {from: lan, to: data, allow: [tcp/5432]}')
      .replace('allow: [tcp/22, tcp/80]}', 'allow: [tcp/22]}')
      .replace('{id: V2, origin: vendor, allow: [{to: web, services: [tcp/22]}]}', '{id: V2, origin: vendor, allow: [{to: app, services: [tcp/22]}]}')
      .replace('"Staff test the shop from the office"', '"<img src=x onerror=window.__pwned=1><b>staff</b> test the shop"');
    assert.notEqual(policy, readFileSync(path.join(SAMPLES, INFO.manifest), 'utf8'));
    const files = INFO.files.map((f) => ({ name: path.basename(f), mimeType: 'text/plain', buffer: readFileSync(path.join(SAMPLES, f)) }));
    await page.setInputFiles('#file-input', [...files, { name: 'policy.yaml', mimeType: 'text/plain', buffer: Buffer.from(policy) }]);
    await page.waitForFunction(() => /^Loaded/.test(document.querySelector('#status').textContent));
    await waitForPolicy(page);
    await waitForRoles(page);
    const cells = await gridCells(page);
    const cell = (from, to) => cells.find((c) => c.from === from && c.to === to);
    assert.deepEqual(cell('lan', 'data').services, ['tcp/5432']);
    assert.equal(cell('lan', 'data').mark, '✓');
    assert.deepEqual(cell('lan', 'dmz').services, ['tcp/22']);
    assert.deepEqual(cell('lan', 'dmz').unused, []);
    const rows = await assertionRows(page);
    assert.equal(rows.find((r) => r.id === 'V2').status, 'holds');
    assert.equal(rows.find((r) => r.id === 'NO-LAN-DB').status, 'violated', 'the assertion does not depend on the matrix');
    assert.doesNotMatch(await page.textContent('#policy-summary'), /unused/);
    // The responsibilities follow: no unused policy for management, no V2 for the vendor.
    assert.equal(await page.locator('#roles .role-management tr.kind-unused-policy').count(), 0);
    assert.equal(await page.locator('#roles .role-vendor tr.kind-violation').count(), 0);
    // Markup in the policy is text.
    const text = await page.textContent('#policy table.assertions');
    assert.ok(text.includes('<img src=x onerror=window.__pwned=1><b>staff</b> test the shop'), text);
    assert.equal(await page.$$eval('#policy img, #policy b, #roles img, #roles b, #summary-doc img', (e) => e.length), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('without a policy the view says how to write one, and its example is a working policy', T, async () => {
    const { page, context, rec } = await env.open();
    await loadSample(page); // edge-fw: no manifest
    await waitForPolicy(page);
    const notice = page.locator('#policy .no-policy');
    assert.match(await notice.locator('.notice-title').textContent(), /^No manifest states a policy/);
    const example = await notice.locator('pre').textContent();
    assert.match(example, /^origins:\n/);
    assert.equal(await page.textContent('#policy-count'), '');
    await scrollToTop(page, '#policy-card');
    await shot(page, 'policy-none');
    // The example, loaded with the edge-fw files, is checked entry by entry.
    const edge = sampleInfo('edge-fw').files;
    const files = edge.map((f) => ({ name: path.basename(f), mimeType: 'text/plain', buffer: readFileSync(path.join(SAMPLES, f)) }));
    await page.setInputFiles('#file-input', [...files, { name: 'portolan.yaml', mimeType: 'text/plain', buffer: Buffer.from(example) }]);
    await page.waitForFunction(() => /^Loaded 4 files/.test(document.querySelector('#status').textContent));
    await waitForPolicy(page);
    const manifest = (await inputRows(page)).find((r) => r.path === 'portolan.yaml');
    assert.deepEqual([manifest.format, manifest.status, manifest.diagnostics], ['portolan manifest', 'ok', 'none']);
    const rows = await assertionRows(page);
    assert.deepEqual(rows.map((r) => r.id), ['NO-INET-LAN', 'LAN-WEB', 'V1']);
    assert.ok(rows.every((r) => r.status !== 'not checked'), JSON.stringify(rows));
    const cells = await gridCells(page);
    assert.deepEqual(cells.find((c) => c.from === 'internet' && c.to === 'dmz').services, ['tcp/443']);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});

describe('responsibilities view', () => {
  test("each owner's actions by risk, as the core's responsibility map: vendor's V2, management's unused policy", T, async () => {
    const { page, context, rec, startedAt } = await policySample();
    const roles = await page.$$eval('#roles .role', (els) =>
      els.map((e) => ({
        role: e.dataset.role,
        what: e.querySelector('.role-what')?.textContent ?? '',
        toggle: e.querySelector('.role-title button').getAttribute('aria-label'),
        rows: [...e.querySelectorAll('tr.action-row')].map((r) => ({
          risk: Number(r.querySelector('.risk').textContent),
          kind: r.querySelector('.kind').textContent,
          what: r.querySelector('.what').textContent,
          evidence: r.querySelector('.evidence').textContent,
        })),
      })),
    );
    assert.deepEqual(
      roles.map((r) => r.role),
      ['it', 'management', 'vendor', 'employees', 'auditor'],
    );
    for (const r of roles) assert.ok(r.what.length > 40, `${r.role} is explained`);
    // The counts per owner are those of `analyze --format responsibilities`.
    const md = cli('responsibilities');
    const counts = Object.fromEntries([...md.matchAll(/^## (\S+) \((\d+)\)$/gm)].map((m) => [m[1], Number(m[2])]));
    for (const r of roles) {
      const n = counts[r.role] ?? 0;
      assert.match(r.toggle, new RegExp(`: ${n} action${n === 1 ? '' : 's'}$`));
      assert.equal(r.rows.length, Math.min(n, 50), r.role);
      const risks = r.rows.map((x) => x.risk);
      assert.deepEqual(risks, [...risks].sort((a, b) => b - a), `${r.role}: highest risk first`);
    }
    assert.equal(await page.textContent('#roles-count'), String(Object.values(counts).reduce((a, b) => a + b, 0)));
    // The Markdown table's rows in order, for the vendor.
    const vendorMd = md.split('\n## vendor')[1].split('\n## ')[0];
    const vendorRows = [...vendorMd.matchAll(/^\| (\d+) \| (\S+) \| /gm)].map((m) => Number(m[1]));
    assert.deepEqual(roles.find((r) => r.role === 'vendor').rows.map((x) => x.risk), vendorRows);

    const vendor = roles.find((r) => r.role === 'vendor');
    const v2 = vendor.rows.find((x) => x.what.startsWith('V2: '));
    assert.ok(v2, JSON.stringify(vendor.rows));
    assert.equal(v2.kind, 'policy violation');
    assert.equal(v2.risk, 90);
    assert.match(v2.evidence, new RegExp(`^${INFO.manifest}:37 `));
    const management = roles.find((r) => r.role === 'management');
    const unused = management.rows.find((x) => x.kind === 'unused policy');
    assert.ok(unused, JSON.stringify(management.rows));
    assert.match(unused.what, /^decide on matrix:zone:lan->zone:dmz tcp\/80: the policy allows it, the configs block it$/);

    // The evidence's file:line opens the source viewer.
    const link = page.locator('#roles .role-vendor tr.kind-violation .evidence .loc', { hasText: `${INFO.manifest}:37` });
    await link.click();
    await page.waitForSelector('#source-dialog[open] .src-line.current');
    assert.match(await page.textContent('#source-dialog .src-line.current'), /id: V2/);
    await page.keyboard.press('Escape');

    // Roles collapse and open again, from the mouse and the keyboard.
    const toggle = page.locator('#roles .role-it .role-title button');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await page.locator('#role-6974-actions').isVisible(), false);
    await toggle.focus();
    await page.keyboard.press('Enter');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.ok(await page.locator(`#${await toggle.getAttribute('aria-controls')}`).isVisible());
    await scrollToTop(page, '#roles-card');
    await shot(page, 'responsibilities');
    await scrollToTop(page, '#roles .role-management');
    await shot(page, 'responsibilities-management');
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test("the management summary is the core's Markdown as headings, list items and bold text, and prints alone on one page", T, async () => {
    const { page, context, rec, startedAt } = await policySample();
    const blocks = await page.$$eval('#summary-doc .md > *', (els) =>
      els.flatMap((e) => (e.tagName === 'UL' || e.tagName === 'OL' ? [...e.children].map((li) => [`${e.tagName}>LI`, li.textContent]) : [[e.tagName, e.textContent]])),
    );
    // The CLI's summary, line by line, without the Markdown marks.
    const expected = [];
    let para = null;
    for (const line of cli('summary').split('\n')) {
      const plain = (t) => t.replace(/\*\*/g, '');
      let m;
      if ((m = /^(#+) (.*)$/.exec(line))) expected.push([`H${m[1].length + 3}`, plain(m[2])]), (para = null);
      else if ((m = /^- (.*)$/.exec(line))) expected.push(['UL>LI', plain(m[1])]), (para = null);
      else if ((m = /^\d+\. (.*)$/.exec(line))) expected.push(['OL>LI', plain(m[1])]), (para = null);
      else if (line === '') para = null;
      else if (para) para[1] += ` ${plain(line)}`;
      else expected.push((para = ['P', plain(line)]));
    }
    assert.deepEqual(blocks, expected);
    assert.equal(blocks[0][1], 'Network security summary');
    assert.ok(blocks.some(([tag, text]) => tag === 'UL>LI' && /^Policy: 6 violations\.$/.test(text)), JSON.stringify(blocks));
    const strong = await page.$$eval('#summary-doc strong', (els) => els.map((e) => e.textContent));
    assert.ok(strong.includes('From the Internet') && strong.includes('Policy'), strong.join(' | '));
    assert.doesNotMatch(await page.textContent('#summary-doc'), /\*\*|^#/m);

    // The button prints.
    await page.evaluate(() => {
      window.__printed = 0;
      window.print = () => window.__printed++;
    });
    await page.click('#print-summary');
    assert.equal(await page.evaluate(() => window.__printed), 1);

    // Print media: the summary and nothing else.
    await page.emulateMedia({ media: 'print' });
    assert.ok(await page.locator('#summary-doc').isVisible());
    for (const hidden of ['.topbar', '#views-nav', 'section.load', '#exposure-card', '#attack-card', '#findings-card', '#policy-card', '#workspace', '#roles', '#roles-card .card-head', '#roles-card .intro', '.summary-head', '.footer']) {
      assert.equal(await page.locator(hidden).first().isVisible(), false, `${hidden} is printed`);
    }
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('#summary-doc')).color), 'rgb(0, 0, 0)');
    await shot(page, 'summary-print');
    // One page of A4.
    const pdf = await page.pdf({ format: 'A4' });
    const pages = pdf.toString('latin1').match(/\/Type\s*\/Page(?![s\w])/g) || [];
    assert.equal(pages.length, 1);
    await page.emulateMedia({ media: 'screen' });
    assert.ok(await page.locator('#policy-card').isVisible());
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('the evidence pack downloads as Markdown and JSON, with the SHA-256 of every input', T, async () => {
    const { page, context, rec, startedAt } = await policySample();
    const paths = [...INFO.files, INFO.manifest];
    const sha = (f) => createHash('sha256').update(readFileSync(path.join(SAMPLES, f))).digest('hex');
    const json = await download(page, '#export-evidence-json');
    assert.equal(json.name, 'portolan-evidence.json');
    const pack = JSON.parse(json.text);
    assert.deepEqual(pack.inputs.map((i) => i.path), paths);
    for (const i of pack.inputs) {
      assert.match(i.sha256, HEX64, i.path);
      assert.equal(i.sha256, sha(i.path), i.path);
    }
    assert.deepEqual(Object.keys(pack), ['inputs', 'assumptions', 'possible', 'scan_notes', 'attack_notes']);
    assert.deepEqual(pack, JSON.parse(cli('evidence-json')));

    const md = await download(page, '#export-evidence');
    assert.equal(md.name, 'portolan-evidence.md');
    assert.ok(md.text.startsWith('# Evidence pack\n'), md.text.slice(0, 100));
    for (const p of paths) {
      const line = md.text.split('\n').find((l) => l.startsWith(`| ${p} | `));
      assert.ok(line, `${p} is listed`);
      assert.match(line.split(' | ')[1], /^`[0-9a-f]{64}`$/);
      assert.equal(line.split(' | ')[1], `\`${sha(p)}\``);
    }
    assert.equal(md.text, cli('evidence'));
    const summary = await download(page, '#export-summary');
    assert.equal(summary.name, 'portolan-summary.md');
    assert.equal(summary.text, cli('summary'));
    const actions = await download(page, '#export-responsibilities');
    assert.equal(actions.name, 'portolan-responsibilities.md');
    assert.equal(actions.text, cli('responsibilities'));
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(await page.evaluate(() => window.__csp), []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });
});

describe('policy and responsibilities from the keyboard and for screen readers', () => {
  test('the grid, the assertions and the roles are reachable and named', T, async () => {
    const { page, context, rec } = await policySample();
    // The grid is a table with a caption and header cells for rows and columns.
    assert.match(await page.textContent('#policy .matrix-grid caption'), /^Zone matrix: each row is where connections come from/);
    assert.equal(await page.$$eval('#policy .matrix-grid thead th[scope="col"]', (e) => e.length), 6);
    assert.equal(await page.$$eval('#policy .matrix-grid tbody th[scope="row"]', (e) => e.length), 5);
    // Every cell's button says what it holds; cells without an entry say so in hidden text.
    const labels = (await accessibleNames(page, '#policy .cell-button')).map((l) => l.replace(/ ([,;])/g, '$1'));
    assert.ok(labels.every((l) => /^\S+ to \S+: (allows .+|nothing allowed); .*(holds|violated|not checked)/.test(l)), labels.join(' | '));
    assert.match(await page.textContent('#policy .mcell.empty'), /nothing allowed, holds/);
    // Tab walks the cells in reading order.
    const ids = await page.$$eval('#policy .cell-button', (bs) => bs.map((b) => b.dataset.id));
    await page.focus('#policy .cell-button >> nth=0');
    const walked = [await page.evaluate(() => document.activeElement.dataset.id)];
    for (let i = 1; i < ids.length; i++) {
      await page.keyboard.press('Tab');
      walked.push(await page.evaluate(() => document.activeElement.dataset.id));
    }
    assert.deepEqual(walked, ids);
    // Enter opens a cell, its detail is named by aria-controls and announced.
    await page.focus('#policy .cell-button[data-id="matrix:zone:lan->zone:data"]');
    await page.keyboard.press('Enter');
    const button = page.locator('#policy .cell-button[data-id="matrix:zone:lan->zone:data"]');
    assert.equal(await button.getAttribute('aria-expanded'), 'true');
    assert.equal(await button.getAttribute('aria-controls'), 'matrix-cell-detail');
    assert.equal(await page.getAttribute('#matrix-cell-detail', 'aria-live'), 'polite');
    assert.ok(await page.locator('#matrix-cell-detail .violation').isVisible());
    await page.keyboard.press('Space');
    assert.equal(await button.getAttribute('aria-expanded'), 'false');
    // Assertions: toggles name their entry, and the detail they control appears.
    const toggle = page.locator('#policy tr.assertion-row[data-id="V2"] .row-toggle');
    await toggle.focus();
    await page.keyboard.press('Enter');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.ok(await page.locator(`#${await toggle.getAttribute('aria-controls')}`).isVisible());
    assert.match(await page.textContent(`#${await toggle.getAttribute('aria-controls')}`), /vendor reaches beyond its scope/);
    // Status is written, not only coloured.
    assert.deepEqual(await page.$$eval('#policy .astatus .pstatus', (e) => [...new Set(e.map((x) => x.textContent))].sort()), ['holds', 'violated']);
    // Roles: sections labelled by their heading, toggles named with their count.
    const sections = await page.$$eval('#roles section.role', (els) => els.map((e) => document.getElementById(e.getAttribute('aria-labelledby'))?.textContent));
    assert.equal(sections.length, 5);
    assert.ok(sections.every((t) => /actions?/.test(t)), sections.join(' | '));
    const roleToggle = page.locator('#roles .role-vendor .role-title button');
    assert.match(await roleToggle.getAttribute('aria-label'), /^Vendor: \d+ actions?$/);
    await roleToggle.focus();
    await page.keyboard.press('Space');
    assert.equal(await roleToggle.getAttribute('aria-expanded'), 'false');
    // The tables have captions.
    assert.ok((await page.$$eval('#roles table.actions caption', (e) => e.map((c) => c.textContent))).every((c) => /^Actions for .+, highest risk first$/.test(c)));
    assert.equal(await page.textContent('#policy table.assertions caption'), 'Policy assertions and their status');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});

describe('policy and responsibilities in dark mode', () => {
  test('both views take the dark palette', T, async () => {
    const { page, context, rec } = await policySample({ colorScheme: 'dark' });
    const bg = (sel) => page.$eval(sel, (e) => getComputedStyle(e).backgroundColor);
    assert.equal(await bg('#policy-card'), 'rgb(26, 33, 41)');
    assert.equal(await bg('#roles-card'), 'rgb(26, 33, 41)');
    // Cells, badges and chips use the dark colours, not the light ones.
    assert.notEqual(await bg('#policy .cell-button[data-id="matrix:zone:lan->zone:apps"]'), 'rgb(255, 255, 255)');
    assert.equal(await bg('#policy .mark-violated'), 'rgb(255, 138, 128)');
    assert.equal(await page.$eval('#policy .svc-chip', (e) => getComputedStyle(e).color), 'rgb(95, 208, 143)');
    assert.notEqual(await bg('#summary'), 'rgb(255, 255, 255)');
    assert.equal(await page.$eval('#summary-doc', (e) => getComputedStyle(e).color), 'rgb(227, 232, 238)');
    await page.click('#policy .cell-button[data-id="matrix:zone:lan->zone:data"]');
    await page.locator('#matrix-cell-detail .hop').first().waitFor();
    await scrollToTop(page, '#policy-card');
    await shot(page, 'policy-dark');
    await scrollToTop(page, '#roles-card');
    await shot(page, 'responsibilities-dark');
    // Printed from the dark theme, the summary is black on white.
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.$eval('#summary-doc', (e) => getComputedStyle(e).color), 'rgb(0, 0, 0)');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});

describe('the views after another analysis', () => {
  test('asking for other origins recomputes the responsibilities and keeps the policy', T, async () => {
    const { page, context, rec } = await policySample();
    const before = await page.textContent('#roles-count');
    await page.fill('#origins', 'internet');
    await page.click('#analyze-button');
    await waitForExposure(page);
    await page.waitForFunction((n) => document.querySelector('#roles-count').textContent !== '' && document.querySelector('#roles-count').textContent !== n, before);
    // The policy does not depend on the origins asked.
    assert.equal((await gridCells(page)).find((c) => c.id === 'matrix:zone:lan->zone:data').mark, '✕ 1');
    // Fewer origins, fewer actions: no exposure from the vendor or the phished workstation.
    assert.ok(Number(await page.textContent('#roles-count')) < Number(before));
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});
