// Browser tests of the attack paths and findings views on the bundled sample "dmz-db-vendor" (two
// firewalls, an nmap and a Nessus scan, a manifest naming the database as the crown jewel): ranked
// paths, their steps and hops, choke points, the findings table, and no request after load.
// Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import {
  attackRows,
  findingRows,
  inputRows,
  loadSample,
  requestsSince,
  ROOT,
  scrollToTop,
  shot,
  useBrowser,
  waitForAttack,
  waitForExposure,
  waitForFindings,
} from './harness.mjs';

const T = { timeout: 120_000 };
const SAMPLE = 'dmz-db-vendor';
const INTERNET_TO_DB = 'From internet to db (10.20.2.5)';
const SEVERITY_LEVEL = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

const env = useBrowser();

/** The sample with its exposure, attack paths and findings shown. */
const dmzSample = (opts) =>
  env.openSample(SAMPLE, {
    ...opts,
    ready: async (page) => {
      await waitForExposure(page);
      await waitForAttack(page);
      await waitForFindings(page);
    },
  });

const pct = (text) => (text === '<1%' ? 0.5 : Number(text.replace('%', '')));

/** The source viewer's highlighted line after clicking `link`, as "<line><text>". */
async function openSource(page, link) {
  await link.click();
  await page.waitForSelector('#source-dialog[open] .src-line.current');
  const current = await page.textContent('#source-dialog .src-line.current');
  const title = await page.textContent('#source-title');
  return { current, title };
}

describe('the second sample network', () => {
  test('it is offered next to edge-fw and loads its configs, scans and manifest', T, async () => {
    const { page, context, rec } = await env.open();
    const options = await page.$$eval('#sample-select option', (els) => els.map((e) => [e.value, e.textContent]));
    assert.deepEqual(
      options.map((o) => o[0]),
      ['edge-fw', SAMPLE, 'dmz-db-vendor-policy', 'multi-site', 'small-office'],
    );
    assert.equal(await page.inputValue('#sample-select'), 'edge-fw', 'edge-fw stays the default');
    assert.equal(await page.getAttribute('#sample-select', 'aria-label'), 'Sample network');
    await loadSample(page, SAMPLE);
    const rows = await inputRows(page);
    assert.deepEqual(
      rows.map((r) => [r.path, r.format, r.status]),
      [
        ['dmz-db-vendor/portolan.yaml', 'portolan manifest', 'ok'],
        ['dmz-db-vendor/edge/edge.iptables', 'iptables-save', 'ok'],
        ['dmz-db-vendor/edge/edge.ip-addr', 'ip addr', 'ok'],
        ['dmz-db-vendor/edge/edge.ip-route', 'ip route', 'ok'],
        ['dmz-db-vendor/core/core.iptables', 'iptables-save', 'ok'],
        ['dmz-db-vendor/core/core.ip-addr', 'ip addr', 'ok'],
        ['dmz-db-vendor/core/core.ip-route', 'ip route', 'ok'],
        ['dmz-db-vendor/scan.xml', 'nmap xml', 'ok'],
        ['dmz-db-vendor/vulns.nessus', 'nessus', 'ok'],
      ],
    );
    assert.deepEqual(await page.$$eval('#devices .device h3', (els) => els.map((e) => e.textContent).sort()), ['core', 'edge']);
    assert.match(await page.textContent('#sample-info'), /^DMZ web shop, database and vendor VPN — /);
    // The manifest's origins are analysed with the Internet.
    await waitForExposure(page);
    assert.equal(await page.inputValue('#origins'), 'internet, vendor, phished');
    // Its example questions are the sample's own.
    await page.locator('#examples-list .example', { hasText: 'web shop reach the application server' }).click();
    await page.waitForFunction(() => document.querySelector('#result .verdict.big')?.textContent === 'allowed');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});

describe('attack paths', () => {
  test('the Internet reaches the database through the web shop and the application server, most likely first', T, async () => {
    const { page, context, rec, startedAt } = await dmzSample();
    assert.ok(await page.locator('#attack-card').isVisible());
    assert.equal(await page.textContent('#attack .jewel'), 'db 10.20.2.5');
    const rows = await attackRows(page);
    assert.equal(await page.textContent('#attack-count'), String(rows.length));
    const groups = [...new Set(rows.map((r) => r.group))];
    assert.deepEqual(groups, [INTERNET_TO_DB, 'From vendor to db (10.20.2.5)', 'From phished to db (10.20.2.5)']);

    const internet = rows.filter((r) => r.group === INTERNET_TO_DB);
    assert.equal(internet[0].rank, '#1');
    assert.deepEqual(internet[0].hosts, ['192.168.10.20', '10.20.1.10', '10.20.2.5']);
    assert.deepEqual(internet[0].chain, ['internet', '→then web 192.168.10.20 tcp/443', '→then app 10.20.1.10 tcp/8080', '→then db 10.20.2.5 tcp/5432']);
    assert.equal(internet[0].fewest, true);
    assert.equal(internet[0].likelihood, '24%');
    assert.equal(internet[0].certainty, 'definite');
    assert.equal(internet[0].owner, 'it');

    const vendor = rows.find((r) => r.group.startsWith('From vendor'));
    assert.deepEqual(vendor.hosts, ['10.20.1.10', '10.20.2.5']);
    assert.equal(vendor.owner, 'vendor');

    // Ranked: the phished workstation's paths go from most to least likely; one has the fewest steps.
    const phished = rows.filter((r) => r.group.startsWith('From phished'));
    assert.ok(phished.length >= 3, JSON.stringify(phished));
    assert.deepEqual(
      phished.map((r) => r.rank),
      phished.map((_, n) => `#${n + 1}`),
    );
    for (let n = 1; n < phished.length; n++) assert.ok(pct(phished[n - 1].likelihood) >= pct(phished[n].likelihood), JSON.stringify(phished));
    assert.equal(phished.filter((r) => r.fewest).length, 1);
    assert.deepEqual(phished[0].hosts, ['10.20.2.5']);
    assert.ok(phished.every((r) => r.owner === 'employees'));
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(await page.evaluate(() => window.__csp), []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await scrollToTop(page, '#attack-card');
    await shot(page, 'attack-paths');
    await context.close();
  });

  test('a path opens into its steps and a step into its hops, with the deciding rule and its source line', T, async () => {
    const { page, context, rec, startedAt } = await dmzSample();
    const group = page.locator('#attack .attack-group', { has: page.locator('h3', { hasText: INTERNET_TO_DB }) });
    const row = group.locator('tr.path-row').first();
    const toggle = row.locator('.row-toggle');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.match(await toggle.getAttribute('aria-label'), /^Steps of path 1 from internet to db \(10\.20\.2\.5\)$/);
    // From the keyboard: the toggle is a button.
    await toggle.focus();
    await page.keyboard.press('Enter');
    const detail = group.locator('tr.path-detail');
    await detail.waitFor();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');

    const steps = detail.locator('li.attack-step');
    assert.equal(await steps.count(), 3);
    const heads = await steps.locator('.step-head').allTextContents();
    assert.match(heads[0], /^1internet→to web 192\.168\.10\.20tcp\/443https Apache httpd 2\.4\.4995%definite$/);
    assert.match(heads[1], /^2192\.168\.10\.20→to app 10\.20\.1\.10tcp\/8080/);
    assert.match(heads[2], /^310\.20\.1\.10→to db 10\.20\.2\.5tcp\/5432/);
    const first = steps.nth(0);
    assert.equal(await first.locator('.way').textContent(), 'vulnerability');
    assert.match(await first.locator('.step-why').textContent(), /Apache 2\.4\.49 < 2\.4\.51 Path Traversal/);
    assert.deepEqual(await first.locator('.cve').allTextContents(), ['CVE-2021-41773', 'CVE-2021-42013']);
    const evidence = first.locator('.way-facts .loc');
    assert.match(await evidence.textContent(), /^dmz-db-vendor\/vulns\.nessus:\d+$/);
    const third = steps.nth(2);
    assert.equal(await third.locator('.way').textContent(), 'credentials');
    assert.match(await third.locator('.way-facts').textContent(), /postgresql/);
    // Every service on this path was seen listening by the scan.
    assert.equal(await detail.locator('.unconfirmed').count(), 0);

    // The first step's network path: the edge firewall forwards it from eth0 to eth1 by line 9.
    const hopsButton = first.locator('button.disclose');
    assert.equal(await hopsButton.getAttribute('aria-expanded'), 'false');
    assert.match(await hopsButton.getAttribute('aria-label'), /^Network path: \d+ hops of step 1, internet to 192\.168\.10\.20 tcp\/443$/);
    await hopsButton.click();
    assert.equal(await hopsButton.getAttribute('aria-expanded'), 'true');
    const hop = first.locator('.hop').first();
    await hop.waitFor();
    assert.equal(await hop.locator('.hop-device').textContent(), 'edge');
    assert.equal(await hop.locator('.hop-ifaces').textContent(), 'eth0 → eth1');
    const deciding = hop.locator('.decision.deciding');
    const loc = await deciding.locator('.loc').textContent();
    assert.equal(loc, 'dmz-db-vendor/edge/edge.iptables:9');
    const ruleText = await deciding.locator('.rule-text').textContent();
    assert.match(ruleText, /^-A FORWARD -d 192\.168\.10\.20\/32 -i eth0 -o eth1 -p tcp .*--dport 443 .*-j ACCEPT$/);
    const src = await openSource(page, deciding.locator('.loc'));
    assert.equal(src.current, `9${ruleText}`);
    assert.equal(src.title, 'dmz-db-vendor/edge/edge.iptables, line 9');
    await page.keyboard.press('Escape');
    // The scanner's report opens too.
    const nessus = await openSource(page, evidence);
    assert.match(nessus.current, /pluginID="153584"/);
    await page.keyboard.press('Escape');
    await scrollToTop(page, '#attack tr.path-detail', 120);
    await shot(page, 'attack-steps');

    // The step's hops close again; the path closes from its toggle.
    await hopsButton.click();
    assert.ok(await first.locator('.step-hops').isHidden());
    await toggle.click();
    assert.equal(await detail.count(), 0);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('the choke points say what to change, what each cuts, and that recomputing proves them', T, async () => {
    const { page, context, rec, startedAt } = await dmzSample();
    const choke = page.locator('#attack .choke');
    assert.equal(await choke.locator('.proof .verdict').textContent(), 'proven');
    assert.match(await choke.locator('.proof').textContent(), /finds no path left: 3 → 0 connected \(origin, crown jewel\) pairs/);
    const changes = choke.locator('li.change');
    const n = await changes.count();
    assert.ok(n >= 2, `${n} changes`);
    const whats = await changes.locator('.change-what').allTextContents();
    for (const w of whats) assert.match(w, /^(Patch \S+ on |Close (tcp|udp)\/\d+ on |Delete the rule at |Set the rule at )/);
    const cuts = await changes.locator('.cuts').allTextContents();
    for (const c of cuts) assert.match(c, /^On its own it disconnects .+ and breaks \d+ of the \d+ paths shown/);
    // The Internet has one path: whatever breaks it disconnects the Internet on its own.
    assert.ok(cuts.some((c) => c.includes('internet → db (10.20.2.5)')), cuts.join(' | '));
    const kinds = await changes.locator('.edit-kind').allTextContents();
    for (const k of kinds) assert.ok(['patch', 'delete rule', 'change rule', 'close service'].includes(k), k);
    // A rule change shows the rule and opens its line.
    const rule = changes.filter({ has: page.locator('.edit-kind', { hasText: 'delete rule' }) }).first();
    const ruleText = await rule.locator('.rule-text').textContent();
    assert.match(ruleText, /^(edge|core) filter\/FORWARD: -A FORWARD /);
    const loc = await rule.locator('.change-rule .loc').textContent();
    assert.match(loc, /^dmz-db-vendor\/(edge|core)\/\1\.iptables:\d+$/);
    const src = await openSource(page, rule.locator('.change-rule .loc'));
    assert.equal(src.current, `${loc.split(':')[1]}${ruleText.slice(ruleText.indexOf(': ') + 2)}`);
    await page.keyboard.press('Escape');
    assert.equal(await choke.locator('.breaks-required').count(), 0);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await scrollToTop(page, '#attack .choke');
    await shot(page, 'choke-points');
    await context.close();
  });

  test('a change that would block a required connection says so', T, async () => {
    const { page, context, rec } = await dmzSample();
    // From the application servers' own subnet the only way to the database is the rule the
    // application needs (the manifest's must_reach APP-DB).
    await page.fill('#origins', '10.20.1.0/24');
    await page.click('#analyze-button');
    await page.waitForFunction(() => document.querySelector('#attack .attack-group h3')?.textContent.startsWith('From 10.20.1.0/24'));
    const change = page.locator('#attack li.change').first();
    assert.equal(await change.locator('.edit-kind').textContent(), 'delete rule');
    assert.match(await change.locator('.breaks-required').textContent(), /^Blocks required connection APP-DB: /);
    assert.match(await change.locator('.change-rule .loc').textContent(), /^dmz-db-vendor\/core\/core\.iptables:11$/);
    assert.equal(await page.textContent('#attack .proof .verdict'), 'proven');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('without crown jewels the view says how to declare them', T, async () => {
    const { page, context, rec } = await env.open();
    await loadSample(page);
    await waitForAttack(page);
    const hint = page.locator('#attack .no-jewels');
    assert.match(await hint.textContent(), /No crown jewels are declared/);
    assert.match(await hint.textContent(), /crown_jewels/);
    assert.match(await hint.textContent(), /value: high/);
    assert.equal(await page.textContent('#attack-count'), '0');
    assert.equal(await page.locator('#attack .choke').count(), 0);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});

describe('findings', () => {
  test('the table lists every finding, readable at a glance, and sorts by severity both ways', T, async () => {
    const { page, context, rec, startedAt } = await dmzSample();
    assert.ok(await page.locator('#findings-card').isVisible());
    const rows = await findingRows(page);
    assert.ok(rows.length >= 5, JSON.stringify(rows));
    assert.equal(await page.textContent('#findings-count'), String(rows.length));
    for (const r of rows) {
      assert.ok(r.severity in SEVERITY_LEVEL, r.severity);
      assert.match(r.code, /^[A-Z]\d{3}$/);
      if (r.device === '') {
        // What an origin reaches as a whole names no single rule.
        assert.equal(r.code, 'X201', JSON.stringify(r));
        assert.equal(r.location, '—');
        continue;
      }
      assert.match(r.location, /^dmz-db-vendor\/(edge|core)\/\1\.iptables:\d+$/);
      assert.ok(['edge', 'core'].includes(r.device), r.device);
    }
    assert.ok(rows.filter((r) => r.device !== '').length >= 5, JSON.stringify(rows));
    assert.ok(rows.some((r) => r.code === 'X201' && r.name === 'risky-service-reachable'));
    // The summary counts each severity.
    const summary = await page.$$eval('#findings-summary .sevpill', (els) => els.map((e) => e.textContent));
    const counts = {};
    for (const r of rows) counts[r.severity] = (counts[r.severity] ?? 0) + 1;
    assert.deepEqual(
      summary,
      Object.keys(SEVERITY_LEVEL)
        .reverse()
        .filter((s) => counts[s])
        .map((s) => `${counts[s]} ${s}`),
    );
    const levels = (list) => list.map((r) => SEVERITY_LEVEL[r.severity]);
    const byLevel = (a, b) => a - b;
    // The report's order: most severe first.
    assert.deepEqual(levels(rows), [...levels(rows)].sort(byLevel).reverse());
    assert.ok(new Set(levels(rows)).size >= 2, 'the sample has findings of two severities at least');

    await page.click('#findings th button.sort[data-key="severity"]');
    assert.equal(await page.getAttribute('#findings th.col-severity', 'aria-sort'), 'descending');
    const desc = await findingRows(page);
    assert.deepEqual(levels(desc), [...levels(desc)].sort(byLevel).reverse());
    // Again, from the keyboard: least severe first.
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.key), 'severity');
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('#findings th.col-severity', 'aria-sort'), 'ascending');
    const asc = await findingRows(page);
    assert.deepEqual(levels(asc), [...levels(asc)].sort(byLevel));
    assert.notDeepEqual(asc[0].severity, desc[0].severity);
    assert.equal(asc.length, rows.length);
    // Another column: by location, file then line as numbers.
    await page.click('#findings th button.sort[data-key="location"]');
    const sorted = (await findingRows(page)).map((r) => r.location);
    // Findings without a location first, then by file and line.
    const unlocated = sorted.filter((l) => l === '—').length;
    assert.deepEqual(sorted.slice(0, unlocated), Array(unlocated).fill('—'));
    const locs = sorted.slice(unlocated).map((l) => l.split(':'));
    for (let n = 1; n < locs.length; n++) {
      const [f0, l0] = locs[n - 1];
      const [f1, l1] = locs[n];
      assert.ok(f0 < f1 || (f0 === f1 && Number(l0) <= Number(l1)), `${locs[n - 1]} before ${locs[n]}`);
    }
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await scrollToTop(page, '#findings-card');
    await shot(page, 'findings');
    await context.close();
  });

  test('the severity filter and the search narrow the table', T, async () => {
    const { page, context, rec, startedAt } = await dmzSample();
    const rows = await findingRows(page);
    const low = rows.filter((r) => r.severity === 'low');
    assert.ok(low.length > 0);
    const options = await page.$$eval('#severity-filter option', (els) => els.map((e) => e.textContent));
    assert.ok(options.includes(`low (${low.length})`), options.join(' | '));
    await page.selectOption('#severity-filter', 'low');
    assert.deepEqual(await findingRows(page), low);
    assert.equal(await page.textContent('#findings-shown'), `${low.length} of ${rows.length} findings shown`);
    await page.selectOption('#severity-filter', '');
    // Words match anywhere in the row, all of them.
    await page.fill('#findings-filter', 'X201 employees');
    const found = await findingRows(page);
    assert.ok(found.length > 0 && found.every((r) => r.code === 'X201' && r.owner === 'employees'), JSON.stringify(found));
    assert.ok(found.length < rows.length);
    await page.fill('#findings-filter', 'core.iptables:13');
    assert.ok((await findingRows(page)).every((r) => r.location === 'dmz-db-vendor/core/core.iptables:13'));
    await page.fill('#findings-filter', 'nothing-like-this');
    assert.deepEqual(await findingRows(page), []);
    assert.match(await page.textContent('#findings'), /No finding matches the search/);
    await page.fill('#findings-filter', '');
    assert.equal((await findingRows(page)).length, rows.length);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test("a row's location opens the rule's source line, and the row opens its details", T, async () => {
    const { page, context, rec, startedAt } = await dmzSample();
    const row = page.locator('#findings tr.finding-row').filter({ has: page.locator('.floc button.loc') }).first();
    const location = await row.locator('.floc').textContent();
    const [file, line] = location.split(':');
    const text = await row.locator('.frule').textContent();
    const src = await openSource(page, row.locator('.floc .loc'));
    assert.equal(src.title, `${file}, line ${line}`);
    assert.equal(src.current, `${line}${text}`);
    await page.keyboard.press('Escape');
    assert.equal(await page.$('#source-dialog[open]'), null);
    // A click on the message opens the details: the packets it is about.
    await row.locator('.fmsg').click();
    const detail = page.locator('#findings tr.finding-detail');
    await detail.waitFor();
    assert.equal(await row.locator('.row-toggle').getAttribute('aria-expanded'), 'true');
    assert.ok((await detail.locator('.sets dt').count()) >= 1);
    assert.match(await detail.locator('.reason').textContent(), /^[A-Z]\d{3} [a-z-]+ — /);
    assert.match(await detail.textContent(), /docs\/findings\/[A-Z]\d{3}\.md/);
    await scrollToTop(page, '#findings tr.finding-detail', 150);
    await shot(page, 'findings-detail');
    await row.locator('.row-toggle').focus();
    await page.keyboard.press('Space');
    assert.equal(await detail.count(), 0);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('SARIF and findings CSV are downloads made in the page', T, async () => {
    const { page, context, rec, startedAt } = await dmzSample();
    const rows = await findingRows(page);
    const download = async (id) => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click(id)]);
      assert.equal(await d.failure(), null);
      assert.match(d.url(), /^blob:/);
      return { name: d.suggestedFilename(), text: readFileSync(await d.path(), 'utf8') };
    };
    const sarif = await download('#export-sarif');
    assert.equal(sarif.name, 'portolan-findings.sarif');
    const log = JSON.parse(sarif.text);
    assert.equal(log.version, '2.1.0');
    assert.equal(log.runs[0].results.length, rows.length);
    const csv = await download('#export-findings-csv');
    assert.equal(csv.name, 'portolan-findings.csv');
    assert.equal(csv.text.trimEnd().split('\n').length, rows.length + 1);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });
});

describe('hostile inputs', () => {
  test('markup in rule comments and scanner findings is shown as text in both views', T, async () => {
    const dir = path.join(ROOT, 'www', 'samples', SAMPLE);
    const read = (name) => readFileSync(path.join(dir, name), 'utf8');
    const evilRule = '<b>public web shop</b><img src=x onerror=window.__pwned=1>';
    const evilVuln = '<img src=x onerror=window.__pwned=2>Path Traversal';
    const files = [
      ['portolan.yaml', read('portolan.yaml')],
      ['edge/edge.iptables', read('edge/edge.iptables').replaceAll('public web shop', evilRule)],
      ['edge/edge.ip-addr', read('edge/edge.ip-addr')],
      ['edge/edge.ip-route', read('edge/edge.ip-route')],
      ['core/core.iptables', read('core/core.iptables')],
      ['core/core.ip-addr', read('core/core.ip-addr')],
      ['core/core.ip-route', read('core/core.ip-route')],
      ['scan.xml', read('scan.xml')],
      ['vulns.nessus', read('vulns.nessus').replace('Path Traversal Vulnerability', '&lt;img src=x onerror=window.__pwned=2&gt;Path Traversal')],
    ];
    const { page, context, rec } = await env.open();
    await page.evaluate((list) => {
      const dt = new DataTransfer();
      for (const [name, text] of list) dt.items.add(new File([text], name, { type: 'text/plain' }));
      document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
    }, files);
    await waitForAttack(page);
    await waitForFindings(page);
    const group = page.locator('#attack .attack-group', { has: page.locator('h3', { hasText: INTERNET_TO_DB }) });
    await group.locator('tr.path-row .row-toggle').first().click();
    const first = group.locator('li.attack-step').first();
    assert.ok((await first.locator('.step-why').textContent()).includes(evilVuln));
    await first.locator('button.disclose').click();
    const rules = await first.locator('.hop .rule-text').allTextContents();
    assert.ok(rules.some((r) => r.includes(`--comment "${evilRule}"`)), rules.join(' | '));
    // The source viewer shows the line as it is.
    await first.locator('.hop .decision', { hasText: evilRule }).locator('.loc').click();
    await page.waitForSelector('#source-dialog[open] .src-line.current');
    assert.ok((await page.textContent('#source-dialog .src-line.current')).includes(evilRule));
    await page.keyboard.press('Escape');
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.$$eval('img', (e) => e.length), 0);
    assert.equal(await page.$$eval('b', (e) => e.length), 0);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});

describe('attack paths and findings in dark mode', () => {
  test('both views render with the dark palette', T, async () => {
    const { page, context, rec } = await dmzSample({ colorScheme: 'dark' });
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(17, 22, 28)');
    const group = page.locator('#attack .attack-group').first();
    await group.locator('tr.path-row .row-toggle').first().click();
    await group.locator('li.attack-step button.disclose').first().click();
    await group.locator('.hop').first().waitFor();
    // Cards, pills and badges take the dark colours, not the light ones.
    const card = await page.evaluate(() => getComputedStyle(document.getElementById('attack-card')).backgroundColor);
    assert.equal(card, 'rgb(26, 33, 41)');
    const pill = await page.$eval('#findings .sevpill', (e) => getComputedStyle(e).color);
    assert.notEqual(pill, 'rgb(138, 90, 0)', 'the medium pill uses the dark palette');
    await scrollToTop(page, '#attack-card');
    await shot(page, 'attack-dark');
    await scrollToTop(page, '#findings-card');
    await shot(page, 'findings-dark');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});
