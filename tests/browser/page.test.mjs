// Browser tests of the static page in dist/: Debian's Chromium, driven by playwright-core.
// Run with `node --test tests/browser/` after scripts/build-www.sh (scripts/test.sh does both).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  answer,
  ask,
  inputRows,
  loadSample,
  openPolicyDetails,
  requestsSince,
  shot,
  useBrowser,
  waitForAttack,
  waitForFindings,
} from './harness.mjs';

const CSP =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src blob:; connect-src 'self'; " +
  "style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

const LAB_RULES = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 10.1.0.0/24 -i eth1 -p tcp -m tcp --dport 22 -j ACCEPT
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

const T = { timeout: 90_000 };

const env = useBrowser();
let tmp;

before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'portolan-browser-'));
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('loading', () => {
  test('the page loads with no console errors, only from its own origin', T, async () => {
    const { page, context, rec } = await env.open({ idle: 1000 });
    assert.deepEqual(rec.errors, []);
    assert.equal(await page.title(), 'Portolan — network exposure analyzer');
    const urls = rec.requests.map((r) => r.url);
    for (const u of urls) assert.equal(new URL(u).origin, env.server.origin, `request to another origin: ${u}`);
    // Both samples' files are fetched at start-up, so loading either later needs no request. The
    // worker's code is inside the page: no script of it is fetched.
    assert.ok(!urls.some((u) => /\/(worker|zip)\.js$|\/pkg\/portolan\.js$/.test(new URL(u).pathname)), urls.join(' '));
    for (const want of [
      '/',
      '/main.js',
      '/pkg/portolan_bg.wasm',
      '/samples/index.json',
      '/samples/edge-fw/edge-fw.iptables',
      '/samples/dmz-db-vendor/portolan.yaml',
      '/samples/dmz-db-vendor/core/core.iptables',
      '/samples/dmz-db-vendor/vulns.nessus',
      '/samples/dmz-db-vendor-policy/policy.yaml',
    ]) {
      assert.ok(urls.some((u) => new URL(u).pathname === want), `${want} was not fetched during start-up: ${urls.join(' ')}`);
    }
    assert.match(await page.textContent('#status'), /^Ready/);
    await shot(page, 'start');
    await context.close();
  });

  test('the CSP meta is present and nothing violates it', T, async () => {
    const { page, context, rec } = await env.open();
    const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
    assert.equal(csp, CSP);
    await loadSample(page);
    await ask(page, { from: '198.51.100.7', to: '203.0.113.2', proto: 'tcp', port: '443' });
    // The attack paths and findings views of the second sample, opened.
    await loadSample(page, 'dmz-db-vendor');
    await waitForAttack(page);
    await waitForFindings(page);
    await page.locator('#attack tr.path-row .row-toggle').first().click();
    await page.locator('#attack li.attack-step button.disclose').first().click();
    await page.locator('#findings tr.finding-row .row-toggle').first().click();
    await page.waitForSelector('#attack .hop');
    // The policy and responsibilities views of the policy sample, opened.
    await openPolicyDetails(page);
    await page.waitForSelector('#summary-doc .md');
    await page.click('#roles .role-vendor .role-title button');
    await page.click('#roles .role-vendor .role-title button');
    assert.deepEqual(await page.evaluate(() => window.__csp), []);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('the CSP blocks connections to other origins', T, async () => {
    const { page, context } = await env.open();
    const outcome = await page.evaluate(() =>
      fetch('http://127.0.0.1:9/').then(
        () => 'fetched',
        (e) => `blocked: ${e.name}`,
      ),
    );
    assert.match(outcome, /^blocked/);
    await page.waitForFunction(() => window.__csp.length > 0);
    const violations = await page.evaluate(() => window.__csp);
    assert.ok(violations.some((v) => v.startsWith('connect-src')), violations.join(', '));
    await context.close();
  });

  test('the file picker is reachable from the keyboard and has a visible label', T, async () => {
    const { page, context } = await env.open();
    let focused = null;
    for (let i = 0; i < 10 && focused !== 'file-input'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    }
    assert.equal(focused, 'file-input');
    assert.equal(await page.getAttribute('#file-input', 'type'), 'file');
    assert.equal(await page.getAttribute('#file-input', 'multiple'), '');
    const label = page.locator('label[for="file-input"]');
    assert.ok(await label.isVisible());
    assert.equal((await label.textContent()).trim(), 'Choose files…');
    await context.close();
  });
});

describe('sample network', () => {
  test('the sample loads into the files table and the devices list', T, async () => {
    const { page, context, rec } = await env.open();
    await loadSample(page);
    const rows = await inputRows(page);
    assert.deepEqual(
      rows.map((r) => [r.path, r.format, r.device, r.status]),
      [
        ['edge-fw/edge-fw.iptables', 'iptables-save', 'edge-fw', 'ok'],
        ['edge-fw/edge-fw.ip-addr', 'ip addr', 'edge-fw', 'ok'],
        ['edge-fw/edge-fw.ip-route', 'ip route', 'edge-fw', 'ok'],
      ],
    );
    for (const r of rows) assert.equal(r.coverage, '100%');
    const devices = await page.$$eval('#devices .device h3', (els) => els.map((e) => e.textContent));
    assert.deepEqual(devices, ['edge-fw']);
    const ifaces = await page.$$eval('#devices .iface', (els) => els.map((e) => e.textContent));
    for (const want of ['eth0203.0.113.2/24', 'eth1192.168.10.1/24', 'eth210.0.0.1/24']) {
      assert.ok(ifaces.some((i) => i.startsWith(want)), `${want} not in ${ifaces.join(' | ')}`);
    }
    assert.match(await page.textContent('#devices'), /4 routes/);
    assert.match(await page.textContent('#status'), /Loaded 3 files into 1 device with \d+ rules/);
    const examples = await page.$$eval('#examples-list .example', (els) => els.length);
    assert.ok(examples >= 3);
    assert.deepEqual(rec.errors, []);
    await shot(page, 'sample-loaded');
    await context.close();
  });

  test('the Internet reaches the web server through the port forward', T, async () => {
    const { page, context, rec } = await env.open();
    await loadSample(page);
    const a = await ask(page, { from: 'internet', to: '203.0.113.2', proto: 'tcp', port: '80' });
    assert.equal(a.error, null, a.text);
    assert.equal(a.verdict, 'allowed');
    const hops = await page.$$eval('#result .hop', (els) =>
      els.map((e) => ({
        device: e.querySelector('.hop-device').textContent,
        ifaces: e.querySelector('.hop-ifaces').textContent,
        outcome: e.querySelector('.outcome').textContent,
      })),
    );
    assert.ok(hops.length >= 2, JSON.stringify(hops));
    assert.deepEqual(hops[0], { device: 'edge-fw', ifaces: 'eth0 → eth1', outcome: hops[0].outcome });
    const nat = await page.$$eval('#result .nat li', (els) => els.map((e) => e.textContent));
    assert.ok(nat.some((n) => /dnat/i.test(n) && n.includes('203.0.113.2:80 → 192.168.10.20:80')), nat.join(' | '));
    const rules = await page.$$eval('#result .rule-text', (els) => els.map((e) => e.textContent));
    assert.ok(rules.some((r) => r.includes('--to-destination 192.168.10.20:80')), rules.join(' | '));
    assert.deepEqual(rec.errors, []);
    await shot(page, 'answer-allowed', { fullPage: true });
    await context.close();
  });

  test('SSH from the Internet to the firewall is denied, with the rule and its source line', T, async () => {
    const { page, context } = await env.open();
    await loadSample(page);
    const a = await ask(page, { from: '198.51.100.7', to: '203.0.113.2', proto: 'tcp', port: '22' });
    assert.equal(a.verdict, 'denied', a.text);
    const deciding = await page.$eval('#result .decision.deciding', (e) => ({
      action: e.querySelector('.action').textContent,
      text: e.querySelector('.rule-text').textContent,
      loc: e.querySelector('.loc').textContent,
    }));
    assert.equal(deciding.text, '-A LOG_DROP -j DROP');
    assert.match(deciding.loc, /^edge-fw\/edge-fw\.iptables:(\d+)$/);
    const line = Number(deciding.loc.split(':')[1]);
    // The source viewer shows the same line, highlighted, read from the loaded file.
    await page.click('#result .decision.deciding .loc');
    await page.waitForSelector('#source-dialog[open] .src-line.current');
    const current = await page.$eval('#source-dialog .src-line.current', (e) => e.textContent);
    assert.equal(current, `${line}-A LOG_DROP -j DROP`);
    assert.equal(await page.textContent('#source-title'), `edge-fw/edge-fw.iptables, line ${line}`);
    await shot(page, 'source-viewer');
    await page.keyboard.press('Escape');
    assert.equal(await page.$('#source-dialog[open]'), null);
    await context.close();
  });

  test('example questions fill the form and answer', T, async () => {
    const { page, context } = await env.open();
    await loadSample(page);
    await page.locator('#examples-list .example', { hasText: 'tcp/2222' }).click();
    await page.waitForSelector('#result .answer, #result .notice');
    const a = await answer(page);
    assert.equal(a.verdict, 'allowed', a.text);
    assert.ok(a.text.includes('203.0.113.2:2222 → 10.0.0.50:22'), a.text);
    assert.equal(await page.inputValue('#q-port'), '2222');
    await page.locator('#examples-list .example', { hasText: 'DMZ web server' }).click();
    await page.waitForFunction(() => document.querySelector('#result .verdict.big')?.textContent === 'denied');
    assert.match(await page.textContent('#result'), /REJECT/);
    await context.close();
  });

  test('a question the engine cannot answer shows its message', T, async () => {
    const { page, context, rec } = await env.open();
    await loadSample(page);
    const a = await ask(page, { from: 'no-such-place', to: '203.0.113.2', proto: 'tcp', port: '80' });
    assert.equal(a.verdict, null);
    assert.ok(a.error && a.error.includes('no-such-place'), a.text);
    assert.ok(a.error.length > 'Portolan could not answer no-such-place → 203.0.113.2 tcp/80'.length, a.text);
    const empty = await ask(page, { from: '', to: '203.0.113.2' });
    assert.match(empty.error, /Both "From" and "To" are needed/);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('dark mode renders', T, async () => {
    const { page, context } = await env.open({ colorScheme: 'dark' });
    await loadSample(page);
    await ask(page, { from: '198.51.100.7', to: '203.0.113.2', proto: 'tcp', port: '443' });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, 'rgb(17, 22, 28)');
    await shot(page, 'dark', { fullPage: true });
    await context.close();
  });
});

describe('own files', () => {
  test('files set through the file input are parsed and grouped into a device', T, async () => {
    const rules = path.join(tmp, 'lab-fw.rules');
    const addr = path.join(tmp, 'lab-fw.addr');
    writeFileSync(rules, LAB_RULES);
    writeFileSync(addr, LAB_ADDR);
    const { page, context, rec } = await env.open();
    await page.setInputFiles('#file-input', [rules, addr]);
    await page.waitForFunction(() => /^Loaded/.test(document.querySelector('#status').textContent));
    const rows = await inputRows(page);
    assert.deepEqual(
      rows.map((r) => [r.path, r.format, r.device, r.status]),
      [
        ['lab-fw.rules', 'iptables-save', 'lab-fw', 'ok'],
        ['lab-fw.addr', 'ip addr', 'lab-fw', 'ok'],
      ],
    );
    assert.deepEqual(await page.$$eval('#devices .device h3', (els) => els.map((e) => e.textContent)), ['lab-fw']);
    // The sample's hints are only for the sample.
    assert.ok(await page.locator('#examples').isHidden());
    assert.equal((await ask(page, { from: '10.1.0.5', to: '10.1.0.1', proto: 'tcp', port: '22' })).verdict, 'allowed');
    assert.equal((await ask(page, { from: '192.0.2.10', to: '192.0.2.1', proto: 'tcp', port: '22' })).verdict, 'denied');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('files dropped on the page are loaded', T, async () => {
    const { page, context, rec } = await env.open();
    await page.evaluate(
      ([rules, addr]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([rules], 'drop-fw.rules', { type: 'text/plain' }));
        dt.items.add(new File([addr], 'drop-fw.ip-addr', { type: 'text/plain' }));
        const zone = document.getElementById('dropzone');
        zone.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
        window.__dragging = zone.classList.contains('dragging');
        zone.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
      },
      [LAB_RULES, LAB_ADDR],
    );
    assert.equal(await page.evaluate(() => window.__dragging), true);
    await page.waitForFunction(() => /^Loaded/.test(document.querySelector('#status').textContent));
    assert.equal(await page.evaluate(() => document.getElementById('dropzone').classList.contains('dragging')), false);
    const rows = await inputRows(page);
    assert.deepEqual(
      rows.map((r) => [r.path, r.format, r.device]),
      [
        ['drop-fw.rules', 'iptables-save', 'drop-fw'],
        ['drop-fw.ip-addr', 'ip addr', 'drop-fw'],
      ],
    );
    const a = await ask(page, { from: '10.1.0.5', to: '10.1.0.1', proto: 'tcp', port: '' });
    assert.equal(a.verdict, 'allowed', a.text);
    assert.match(a.text, /Not the same for every packet of this question: allowed, denied/);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('hostile file names and contents are shown as text, never as markup', T, async () => {
    const evilName = '<img src=x onerror="window.__pwned=1">.rules';
    const evilRules = [
      '*filter',
      ':INPUT DROP [0:0]',
      '-A INPUT -s 10.0.0.0/8 -m comment --comment "<img src=x onerror=window.__pwned=2>" -j ACCEPT',
      '<script>window.__pwned=3</script>',
      '-A INPUT -p tcp --dport 22 -j <b>ACCEPT</b>',
      'COMMIT',
      '',
    ].join('\n');
    const otherName = '<script>window.__pwned=4</script>.txt';
    const other = '<html><body><img src=x onerror="window.__pwned=5"><b>not a config</b></body></html>\n';
    const { page, context, rec } = await env.open();
    const scriptsBefore = await page.$$eval('script', (s) => s.length);
    await page.setInputFiles('#file-input', [
      { name: evilName, mimeType: 'text/plain', buffer: Buffer.from(evilRules) },
      { name: otherName, mimeType: 'text/html', buffer: Buffer.from(other) },
    ]);
    await page.waitForFunction(() => /^Loaded/.test(document.querySelector('#status').textContent));
    const rows = await inputRows(page);
    assert.deepEqual(
      rows.map((r) => r.path),
      [evilName, otherName],
    );
    assert.equal(rows[0].format, 'iptables-save');
    assert.equal(rows[1].status, 'unsupported');
    // Show every diagnostic: the offending lines appear verbatim as text.
    for (const b of await page.$$('#inputs-table button.toggle')) await b.click();
    const lineTexts = await page.$$eval('#inputs-table .line-text', (els) => els.map((e) => e.textContent));
    assert.ok(lineTexts.includes('<script>window.__pwned=3</script>'), lineTexts.join(' | '));
    const a = await ask(page, { from: '<img src=x onerror=window.__pwned=6>', to: '10.0.0.1', proto: 'tcp', port: '22' });
    assert.ok(a.text.includes('<img src=x onerror=window.__pwned=6>'), a.text);
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.$$eval('img', (e) => e.length), 0);
    assert.equal(await page.$$eval('b', (e) => e.length), 0);
    assert.equal(await page.$$eval('script', (s) => s.length), scriptsBefore);
    assert.deepEqual(rec.errors, []);
    await shot(page, 'hostile-input', { fullPage: true });
    await context.close();
  });
});

describe('privacy', () => {
  test('no request leaves the page after it has loaded, whatever the user does', T, async () => {
    const { page, context, rec, startedAt } = await env.open({ idle: 1000 });
    await loadSample(page);
    await ask(page, { from: 'internet', to: '203.0.113.2', proto: 'tcp', port: '443' });
    await ask(page, { from: '10.0.0.23', to: '198.51.100.7', proto: 'tcp', port: '443' });
    await page.click('#result .decision .loc');
    await page.waitForSelector('#source-dialog[open] .src-line.current');
    await page.keyboard.press('Escape');
    // The second sample, its attack paths (a path, a step's hops, a rule's line, the choke
    // points) and its findings (sorted, filtered, a rule's line).
    await loadSample(page, 'dmz-db-vendor');
    await waitForAttack(page);
    await waitForFindings(page);
    await page.locator('#attack tr.path-row .row-toggle').first().click();
    await page.locator('#attack li.attack-step button.disclose').first().click();
    await page.locator('#attack .hop .decision.deciding .loc').first().click();
    await page.waitForSelector('#source-dialog[open] .src-line.current');
    await page.keyboard.press('Escape');
    await page.locator('#attack .change-rule .loc').first().click();
    await page.waitForSelector('#source-dialog[open] .src-line.current');
    await page.keyboard.press('Escape');
    await page.click('#findings th button.sort[data-key="severity"]');
    await page.selectOption('#severity-filter', 'low');
    await page.fill('#findings-filter', 'X201');
    await page.locator('#findings tr.finding-row .floc .loc').first().click();
    await page.waitForSelector('#source-dialog[open] .src-line.current');
    await page.keyboard.press('Escape');
    await page.locator('#findings tr.finding-row .row-toggle').first().click();
    await page.waitForSelector('#findings tr.finding-detail');
    // The policy sample: a matrix cell, an assertion and its rule's line, a role's evidence, the
    // summary printed and the evidence pack downloaded.
    await loadSample(page, 'dmz-db-vendor-policy');
    await page.waitForSelector('#policy .matrix-grid');
    await page.click('#policy .cell-button[data-id="matrix:zone:lan->zone:dmz"]');
    await page.click('#matrix-cell-detail .cell-detail-head .loc');
    await page.waitForSelector('#source-dialog[open] .src-line.current');
    await page.keyboard.press('Escape');
    await page.click('#policy tr.assertion-row[data-id="NO-LAN-DB"] .row-toggle');
    await page.locator('#policy tr.assertion-detail .hop .loc').first().click();
    await page.waitForSelector('#source-dialog[open] .src-line.current');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#summary-doc .md');
    await page.locator('#roles .role-vendor tr.action-row .evidence .loc').first().click();
    await page.waitForSelector('#source-dialog[open] .src-line.current');
    await page.keyboard.press('Escape');
    await page.evaluate(() => {
      window.print = () => {};
    });
    await page.click('#print-summary');
    await page.emulateMedia({ media: 'print' });
    await page.emulateMedia({ media: 'screen' });
    for (const id of ['#export-evidence', '#export-evidence-json', '#export-summary', '#export-responsibilities']) {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click(id)]);
      assert.equal(await d.failure(), null);
    }
    await page.setInputFiles('#file-input', [{ name: 'lab-fw.rules', mimeType: 'text/plain', buffer: Buffer.from(LAB_RULES) }]);
    await page.waitForFunction(() => /^Loaded 1 file/.test(document.querySelector('#status').textContent));
    await page.waitForTimeout(1000);
    // Downloads are blob: URLs made in the page; nothing else is requested.
    assert.deepEqual(requestsSince(rec, startedAt), []);
    assert.ok(rec.requests.slice(startedAt).every((r) => r.url.startsWith('blob:')));
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});
