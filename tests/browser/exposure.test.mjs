// Browser tests of the exposure view: what each origin reaches, filtering, sorting, the explained
// path of a row, exports, and no request after load. Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import {
  ask,
  exposureRows,
  requestsSince,
  ROOT,
  shot,
  useBrowser,
  waitForExposure,
} from './harness.mjs';

const T = { timeout: 90_000 };

const CSV_HEADER = 'origin,from,ip,host,proto,ports,certainty,service,owner,path';

// A firewall whose SSH rule uses a match Portolan does not model (`-m recent`), and a scan of it.
const LAB_RULES = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m recent --rcheck --seconds 60 --name ssh -j ACCEPT
-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT
COMMIT
`;

const LAB_ADDR = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000
    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff
    inet 192.0.2.1/24 brd 192.0.2.255 scope global eth0
       valid_lft forever preferred_lft forever
3: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000
    link/ether 52:54:00:12:34:57 brd ff:ff:ff:ff:ff:ff
    inet 10.1.0.1/24 brd 10.1.0.255 scope global eth1
       valid_lft forever preferred_lft forever
`;

const LAB_ROUTE = `default via 192.0.2.254 dev eth0 proto static
192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.1
10.1.0.0/24 dev eth1 proto kernel scope link src 10.1.0.1
`;

const LAB_SCAN = `<?xml version="1.0" encoding="UTF-8"?>
<nmaprun scanner="nmap" args="nmap -sV 192.0.2.1" start="1700000000" version="7.94" xmloutputversion="1.05">
<host><status state="up" reason="syn-ack"/>
<address addr="192.0.2.1" addrtype="ipv4"/>
<hostnames><hostname name="gw.example.test" type="PTR"/></hostnames>
<ports>
<port protocol="tcp" portid="22"><state state="filtered" reason="no-response"/><service name="ssh"/></port>
<port protocol="tcp" portid="443"><state state="open" reason="syn-ack"/><service name="https" product="nginx" version="1.24.0"/></port>
<port protocol="tcp" portid="8080"><state state="open" reason="syn-ack"/><service name="http-proxy"/></port>
</ports>
</host>
</nmaprun>
`;

const labFiles = () => [
  { name: 'lab-fw.rules', mimeType: 'text/plain', buffer: Buffer.from(LAB_RULES) },
  { name: 'lab-fw.addr', mimeType: 'text/plain', buffer: Buffer.from(LAB_ADDR) },
  { name: 'lab-fw.route', mimeType: 'text/plain', buffer: Buffer.from(LAB_ROUTE) },
  { name: 'scan.xml', mimeType: 'text/xml', buffer: Buffer.from(LAB_SCAN) },
];

const key = (r) => `${r.ip} ${r.service}`;

const env = useBrowser();

/** The first sample with its exposure shown. */
const sampleWithExposure = (opts) => env.openSample(undefined, opts);

describe('exposure of the sample network', () => {
  test('loading the sample lists what the Internet reaches, with HTTPS forwarded and no SSH to the firewall', T, async () => {
    const { page, context, rec, startedAt } = await sampleWithExposure();
    assert.ok(await page.locator('#exposure-card').isVisible());
    assert.equal(await page.inputValue('#origins'), 'internet');
    assert.equal(await page.textContent('#exposure .origin h3'), 'From internet');
    const rows = await exposureRows(page);
    const https = rows.filter((r) => r.ip === '203.0.113.2' && r.service === 'tcp/443');
    assert.deepEqual(https, [
      {
        origin: 'internet',
        ip: '203.0.113.2',
        host: 'edge-fw',
        forwardedTo: ['→ 192.168.10.20:443'],
        service: 'tcp/443',
        certainty: 'definite',
        scans: '—',
        owner: 'it',
      },
    ]);
    assert.deepEqual(rows.find((r) => key(r) === '203.0.113.2 tcp/2222').forwardedTo, ['→ 10.0.0.50:22']);
    assert.deepEqual(rows.find((r) => key(r) === '192.168.10.20 tcp/443').forwardedTo, []);
    assert.ok(rows.some((r) => key(r) === '203.0.113.2 tcp/2222'), rows.map(key).join(' | '));
    assert.ok(rows.some((r) => key(r) === '203.0.113.2 tcp/80'), rows.map(key).join(' | '));
    assert.ok(!rows.some((r) => r.ip === '203.0.113.2' && /^tcp\/(.*,)?22(,|$)/.test(r.service)), rows.map(key).join(' | '));
    assert.ok(rows.every((r) => r.origin === 'internet'));
    // The counts agree with the rows.
    assert.equal(await page.textContent('#exposure-count'), String(rows.length));
    assert.equal(await page.textContent('#exposure .origin .count'), `${rows.length} exposures`);
    assert.match(await page.textContent('#exposure-shown'), new RegExp(`^${rows.length} exposures from 1 origin, analysed in `));
    // The files table and the devices list are still there.
    assert.equal(await page.$$eval('#inputs-table tbody tr:not(.diag-row)', (r) => r.length), 3);
    assert.deepEqual(await page.$$eval('#devices .device h3', (els) => els.map((e) => e.textContent)), ['edge-fw']);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(await page.evaluate(() => window.__csp), []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await shot(page, 'exposure');
    await context.close();
  });

  test('the text filter searches every column and the certainty filter keeps one kind', T, async () => {
    const { page, context, rec, startedAt } = await sampleWithExposure();
    const all = await exposureRows(page);
    await page.fill('#exposure-filter', '2222');
    let rows = await exposureRows(page);
    assert.deepEqual(rows.map(key), ['203.0.113.2 tcp/2222']);
    assert.equal(await page.textContent('#exposure-shown'), `1 of ${all.length} exposures shown`);
    // Several words must all match, in any column: host name, protocol, owner.
    await page.fill('#exposure-filter', 'edge-fw icmp');
    rows = await exposureRows(page);
    assert.ok(rows.length >= 1 && rows.every((r) => r.host === 'edge-fw' && r.service.startsWith('icmp')), JSON.stringify(rows));
    assert.ok(rows.length < all.length);
    await page.fill('#exposure-filter', 'nothing-like-this');
    assert.deepEqual(await exposureRows(page), []);
    assert.match(await page.textContent('#exposure .origin'), /No exposure from this origin matches the filter/);
    await page.fill('#exposure-filter', '');
    assert.equal((await exposureRows(page)).length, all.length);
    // Every exposure of the sample is definite.
    await page.selectOption('#certainty-filter', 'possible');
    assert.deepEqual(await exposureRows(page), []);
    await page.selectOption('#certainty-filter', 'definite');
    assert.deepEqual(await exposureRows(page), all);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('column headers sort the rows, from the mouse and from the keyboard', T, async () => {
    const { page, context, rec, startedAt } = await sampleWithExposure();
    const before = (await exposureRows(page)).map(key);
    assert.equal(await page.$$eval('#exposure th[aria-sort]', (t) => t.length), 0);

    await page.click('#exposure th button.sort[data-key="service"]');
    const asc = (await exposureRows(page)).map(key);
    assert.notDeepEqual(asc, before);
    assert.deepEqual([...asc].sort(), [...before].sort(), 'sorting keeps every row');
    assert.equal(await page.getAttribute('#exposure th.col-service', 'aria-sort'), 'ascending');
    const protos = asc.map((k) => k.split(' ')[1].split('/')[0]);
    assert.deepEqual(protos, [...protos].sort(), asc.join(' | '));
    const tcpPorts = asc.filter((k) => k.includes(' tcp/')).map((k) => Number(k.split('/')[1]));
    assert.deepEqual(tcpPorts, [...tcpPorts].sort((a, b) => a - b), 'ports sort by value');

    // The focused header button sorts again, the other way.
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.key), 'service');
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('#exposure th.col-service', 'aria-sort'), 'descending');
    const desc = (await exposureRows(page)).map(key);
    assert.equal(desc[0].split(' ')[1].split('/')[0], protos[protos.length - 1]);
    assert.notDeepEqual(desc, asc);

    // Addresses sort by value, not as text.
    await page.focus('#exposure th button.sort[data-key="dst"]');
    await page.keyboard.press('Space');
    const ips = (await exposureRows(page)).map((r) => r.ip);
    const value = (ip) => ip.split('.').reduce((n, x) => n * 256 + Number(x), 0);
    assert.deepEqual(ips, [...ips].sort((a, b) => value(a) - value(b)));
    assert.equal(await page.getAttribute('#exposure th.col-dst', 'aria-sort'), 'ascending');
    assert.equal(await page.getAttribute('#exposure th.col-service', 'aria-sort'), null);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('a row opens its path: hops, the DNAT rule text and its line in the source viewer', T, async () => {
    const { page, context, rec, startedAt } = await sampleWithExposure();
    const row = page.locator('#exposure tr.exp-row', { has: page.locator('.svc', { hasText: /^tcp\/443$/ }) }).filter({
      has: page.locator('.ip', { hasText: /^203\.0\.113\.2$/ }),
    });
    assert.equal(await row.count(), 1);
    await row.locator('.svc').click();
    const detail = page.locator('#exposure tr.exp-detail');
    await detail.waitFor();
    assert.equal(await row.locator('.row-toggle').getAttribute('aria-expanded'), 'true');
    const hops = await detail.locator('.hop').evaluateAll((els) =>
      els.map((e) => ({
        device: e.querySelector('.hop-device').textContent,
        direction: e.querySelector('.tag').textContent,
        ifaces: e.querySelector('.hop-ifaces').textContent,
      })),
    );
    assert.deepEqual(hops[0], { device: 'edge-fw', direction: 'first packet', ifaces: 'eth0 → eth1' });
    assert.ok(hops.some((h) => h.direction === 'reply'), JSON.stringify(hops));
    const nat = await detail.locator('.nat li').allTextContents();
    assert.ok(nat.some((n) => /dnat/i.test(n) && n.includes('203.0.113.2:443 → 192.168.10.20:443')), nat.join(' | '));
    const dnat = detail.locator('.decision', { hasText: '--to-destination 192.168.10.20:443' });
    assert.equal(await dnat.locator('.action').textContent(), 'dnat');
    const ruleText = await dnat.locator('.rule-text').textContent();
    assert.match(ruleText, /^-A PREROUTING -d 203\.0\.113\.2\/32 -i eth0 -p tcp .*-j DNAT --to-destination 192\.168\.10\.20:443$/);
    const loc = await dnat.locator('.loc').textContent();
    assert.match(loc, /^edge-fw\/edge-fw\.iptables:\d+$/);
    assert.match(await detail.locator('.reason').first().textContent(), /^allowed: /);
    assert.equal(await detail.locator('.uncertain').count(), 0, 'a definite exposure depends on nothing');

    await dnat.locator('.loc').click();
    await page.waitForSelector('#source-dialog[open] .src-line.current');
    const line = Number(loc.split(':')[1]);
    assert.equal(await page.textContent('#source-dialog .src-line.current'), `${line}${ruleText}`);
    await shot(page, 'exposure-source');
    await page.keyboard.press('Escape');

    // The toggle button closes it again, from the keyboard.
    await row.locator('.row-toggle').focus();
    await page.keyboard.press('Enter');
    assert.equal(await detail.count(), 0);
    assert.equal(await row.locator('.row-toggle').getAttribute('aria-expanded'), 'false');
    // An open row stays open when the rows are filtered and sorted.
    await row.locator('.row-toggle').click();
    await page.click('#exposure th button.sort[data-key="owner"]');
    await page.fill('#exposure-filter', '443');
    assert.equal(await page.locator('#exposure tr.exp-detail .nat li', { hasText: '192.168.10.20:443' }).count(), 2);
    await shot(page, 'exposure-path', { fullPage: true });
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('exports are downloads made in the page: CSV, Markdown and JSON', T, async () => {
    const { page, context, rec, startedAt } = await sampleWithExposure();
    const rows = await exposureRows(page);
    const download = async (id) => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click(id)]);
      assert.equal(await d.failure(), null);
      assert.match(d.url(), /^blob:/);
      return { name: d.suggestedFilename(), text: readFileSync(await d.path(), 'utf8') };
    };
    const csv = await download('#export-csv');
    assert.equal(csv.name, 'portolan-exposure.csv');
    assert.ok(csv.text.startsWith(`${CSV_HEADER}\n`), csv.text.slice(0, 200));
    const lines = csv.text.trimEnd().split('\n');
    assert.equal(lines.length, rows.length + 1);
    assert.ok(lines.some((l) => l.startsWith('internet,internet,203.0.113.2,edge-fw,tcp,443,definite,,it,edge-fw eth0→eth1 dnat 203.0.113.2:443→192.168.10.20:443')), csv.text);

    const md = await download('#export-markdown');
    assert.equal(md.name, 'portolan-exposure.md');
    assert.ok(md.text.startsWith('# Portolan exposure report\n'), md.text.slice(0, 200));
    assert.ok(md.text.includes('| definite | 203.0.113.2 (edge-fw) | tcp/443 |'), md.text);

    const json = await download('#export-json');
    assert.equal(json.name, 'portolan-exposure.json');
    const report = JSON.parse(json.text);
    assert.deepEqual(Object.keys(report), [
      'inputs',
      'devices',
      'hosts',
      'topology',
      'origins',
      'exposures',
      'scan_notes',
      'assumptions',
      'findings',
      'crown_jewels',
      'attack_paths',
      'choke_points',
      'attack_notes',
      'attack_edges',
      'violations',
      'policy_entries',
      'unused_policy',
    ]);
    assert.equal(report.exposures.length, rows.length);
    assert.ok(Array.isArray(report.topology.links), JSON.stringify(report.topology));
    assert.ok(Array.isArray(report.findings), 'findings list');
    const e = report.exposures.find((x) => x.ip === '203.0.113.2' && x.proto === 'tcp' && x.ports === '443');
    assert.equal(e.certainty, 'definite');
    assert.equal(e.hops[0].nat[0].to, '192.168.10.20:443');

    // The exports follow the origins analysed.
    await page.fill('#origins', 'internet 10.0.0.0/24');
    await page.click('#analyze-button');
    await page.waitForFunction(() => document.querySelectorAll('#exposure .origin').length === 2);
    const both = await download('#export-csv');
    assert.ok(both.text.split('\n').some((l) => l.startsWith('10.0.0.0/24,10.0.0.0/24,203.0.113.2,edge-fw,tcp,22,definite,')), both.text);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(await page.evaluate(() => window.__csp), []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('the HTML report is one inert file: its style by hash, no script, hostile text escaped', T, async () => {
    const { page, context, rec, startedAt } = await sampleWithExposure();
    const evil = '<img/src=x/onerror=window.__pwned=1>';
    await page.fill('#origins', `internet, 10.0.0.0/24 ${evil}`);
    await page.press('#origins', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('#exposure .origin').length === 3);
    const [d] = await Promise.all([page.waitForEvent('download'), page.click('#export-html')]);
    assert.equal(d.suggestedFilename(), 'portolan-report.html');
    const html = readFileSync(await d.path(), 'utf8');
    assert.ok(!/<script/i.test(html), 'no script in the report');
    assert.ok(html.includes('203.0.113.2 (edge-fw)'), html.slice(0, 400));
    assert.ok(html.includes('&lt;img/src=x/onerror=window.__pwned=1&gt;'), 'the hostile origin is escaped');
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    // Opened as a file, it draws with its own style (the CSP hash matches) and loads nothing.
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'portolan-report-')), 'report.html');
    writeFileSync(file, html);
    const viewer = await context.newPage();
    const problems = [];
    const requests = [];
    viewer.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    viewer.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    await viewer.goto(`file://${file}`);
    assert.equal(await viewer.evaluate(() => getComputedStyle(document.body).maxWidth), '1152px');
    assert.equal(await viewer.evaluate(() => document.querySelectorAll('img, script').length), 0);
    assert.equal(await viewer.evaluate(() => window.__pwned), undefined);
    const heads = await viewer.$$eval('h2', (els) => els.map((e) => e.textContent.trim()));
    assert.ok(heads.some((h) => h.startsWith(`Reachable from ${evil}`)), heads.join(' | '));
    await shot(viewer, 'html-report');
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, []);
    await context.close();
  });

  test('more origins: each has its own table, and one that cannot be read says why', T, async () => {
    const { page, context, rec, startedAt } = await sampleWithExposure();
    const evil = '<img/src=x/onerror=window.__pwned=1>';
    await page.fill('#origins', `internet, 10.0.0.0/24 ${evil}`);
    await page.press('#origins', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('#exposure .origin').length === 3);
    const heads = await page.$$eval('#exposure .origin h3', (els) => els.map((e) => e.textContent));
    assert.deepEqual(heads, ['From internet', 'From 10.0.0.0/24', `From ${evil}`]);
    const rows = await exposureRows(page);
    assert.ok(rows.some((r) => r.origin === '10.0.0.0/24' && key(r) === '203.0.113.2 tcp/22'), rows.map(key).join(' | '));
    assert.ok(!rows.some((r) => r.origin === 'internet' && key(r) === '203.0.113.2 tcp/22'));
    const error = await page.locator('#exposure .origin').nth(2).locator('.notice').textContent();
    assert.ok(error.includes(`${evil} was not analysed`) && error.includes('is not an address'), error);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.$$eval('#exposure img', (e) => e.length), 0);
    // An empty field means the Internet again.
    await page.fill('#origins', ' , ');
    await page.click('#analyze-button');
    await page.waitForFunction(() => document.querySelectorAll('#exposure .origin').length === 1);
    assert.equal(await page.inputValue('#origins'), 'internet');
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });
});

describe('exposure of own files', () => {
  test('possible exposures name what they depend on; scans add services, facts and notes', T, async () => {
    const { page, context, rec, startedAt } = await env.open({ idle: 800 });
    await page.setInputFiles('#file-input', labFiles());
    await waitForExposure(page);
    const rows = await exposureRows(page);
    const by = (k) => rows.find((r) => key(r) === k);
    assert.deepEqual(by('192.0.2.1 tcp/443'), {
      origin: 'internet',
      ip: '192.0.2.1',
      host: 'lab-fw',
      forwardedTo: [],
      service: 'tcp/443',
      certainty: 'definite',
      scans: 'tcp/443 https nginx 1.24.0',
      owner: 'it',
    });
    const ssh = by('192.0.2.1 tcp/22');
    assert.equal(ssh.certainty, 'possible');
    assert.equal(ssh.owner, 'auditor');
    assert.match(ssh.scans, /1 scan fact against the configs/);

    await page.selectOption('#certainty-filter', 'possible');
    const possible = await exposureRows(page);
    assert.ok(possible.length >= 1 && possible.every((r) => r.certainty === 'possible'), JSON.stringify(possible));
    assert.ok(possible.length < rows.length);

    await page.locator('#exposure tr.exp-row', { has: page.locator('.ip', { hasText: /^192\.0\.2\.1$/ }) }).locator('.svc').click();
    const detail = page.locator('#exposure tr.exp-detail');
    const depends = detail.locator('.uncertain.depends');
    assert.match(await depends.locator('.label').textContent(), /^Possible: depends on/);
    const item = depends.locator('li').first();
    assert.equal(await item.locator('.loc').textContent(), 'lab-fw.rules:7');
    assert.match(await item.textContent(), /-m recent --rcheck/);
    const fact = detail.locator('.scan-facts li').first();
    assert.match(await fact.locator('.loc').textContent(), /^scan\.xml:\d+$/);
    assert.match(await fact.textContent(), /the scan saw tcp\/22 filtered/);
    await item.locator('.loc').click();
    await page.waitForSelector('#source-dialog[open] .src-line.current');
    assert.match(await page.textContent('#source-dialog .src-line.current'), /^7-A INPUT -p tcp -m tcp --dport 22 -m recent/);
    await page.keyboard.press('Escape');

    const note = page.locator('#exposure .scan-notes li', { hasText: 'tcp/8080' });
    assert.match(await note.textContent(), /192\.0\.2\.1 tcp\/8080 is open per the scan, but no origin reaches it/);
    assert.match(await note.locator('.loc').textContent(), /^scan\.xml:\d+$/);
    await shot(page, 'exposure-possible', { fullPage: true });
    // The query answer names the same construct, with the same link.
    const a = await ask(page, { from: '198.51.100.7', to: '192.0.2.1', proto: 'tcp', port: '22' });
    assert.equal(a.verdict, 'possibly', a.text);
    assert.equal(await page.textContent('#result .uncertain li .loc'), 'lab-fw.rules:7');
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('a firewall without its interface dump shows the assumption the analysis rests on', T, async () => {
    const { page, context, rec } = await env.open();
    await page.setInputFiles('#file-input', [labFiles()[0]]);
    await waitForExposure(page);
    assert.match(await page.textContent('#exposure .assumptions'), /lab-fw has no interface dump \(ip addr\)/);
    assert.match(await page.textContent('#exposure .origin'), /No exposure/);
    assert.ok(await page.locator('#exposure-tools').isHidden());
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});

describe('exposure with a manifest', () => {
  test("a manifest's origins are analysed with the Internet, each with its role as owner", T, async () => {
    const { page, context, rec } = await env.open();
    const sample = (name) => readFileSync(path.join(ROOT, 'www', 'samples', 'edge-fw', name), 'utf8');
    const files = [
      ['edge-fw/edge-fw.iptables', sample('edge-fw.iptables')],
      ['edge-fw/edge-fw.ip-addr', sample('edge-fw.ip-addr')],
      ['edge-fw/edge-fw.ip-route', sample('edge-fw.ip-route')],
      ['portolan.yaml', readFileSync(path.join(ROOT, 'examples', 'portolan.yaml'), 'utf8')],
    ];
    await page.evaluate((list) => {
      const dt = new DataTransfer();
      for (const [name, text] of list) dt.items.add(new File([text], name, { type: 'text/plain' }));
      document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
    }, files);
    await waitForExposure(page);
    assert.equal(await page.inputValue('#origins'), 'internet, vendor, phished');
    const heads = await page.$$eval('#exposure .origin .origin-head', (els) => els.map((e) => e.textContent));
    assert.equal(heads.length, 3);
    assert.match(heads[1], /^From vendorvendor198\.51\.100\.0\/28\d+ exposures$/);
    assert.match(heads[2], /^From phishedemployees10\.0\.0\.100-10\.0\.0\.199\d+ exposures$/);
    const rows = await exposureRows(page);
    const vendor = rows.filter((r) => r.origin === 'vendor');
    assert.ok(vendor.length > 0 && vendor.every((r) => r.owner === 'vendor'), JSON.stringify(vendor));
    assert.ok(rows.filter((r) => r.origin === 'phished').every((r) => r.owner === 'employees'));
    // Hosts the manifest names label the destinations.
    assert.ok(rows.some((r) => r.origin === 'internet' && r.ip === '192.168.10.20' && r.host === 'web'), JSON.stringify(rows.slice(0, 6)));
    // The owner filter finds one origin's rows.
    await page.fill('#exposure-filter', 'employees');
    assert.ok((await exposureRows(page)).every((r) => r.origin === 'phished'));
    assert.deepEqual(rec.errors, []);
    await shot(page, 'exposure-manifest');
    await context.close();
  });
});

describe('exposure in dark mode', () => {
  test('the exposure view with an open row renders in dark mode', T, async () => {
    const { page, context } = await sampleWithExposure({ colorScheme: 'dark' });
    await page.locator('#exposure tr.exp-row', { has: page.locator('.svc', { hasText: /^tcp\/2222$/ }) }).locator('.row-toggle').click();
    await page.waitForSelector('#exposure tr.exp-detail .hop');
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(17, 22, 28)');
    await page.locator('#exposure-card').scrollIntoViewIfNeeded();
    await shot(page, 'exposure-dark');
    await shot(page, 'exposure-dark-full', { fullPage: true });
    await context.close();
  });
});
