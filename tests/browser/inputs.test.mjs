// Browser tests of the page's inputs: a zip archive chosen or dropped is read in the page with its
// folders (devices grouped by folder), entries that cannot be read are listed with their reason
// while the rest loads, and a file can be removed or replaced, which analyses again. Nothing is
// requested after load. Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { strToU8, zipSync } from 'fflate';

import { exposureRows, inputRows as allRows, requestsSince, RESULTS, ROOT, shot, useBrowser, waitForExposure } from './harness.mjs';

const T = { timeout: 120_000 };
const SAMPLE = path.join(ROOT, 'www', 'samples', 'dmz-db-vendor');
const FILES = [
  'portolan.yaml',
  'edge/edge.iptables',
  'edge/edge.ip-addr',
  'edge/edge.ip-route',
  'core/core.iptables',
  'core/core.ip-addr',
  'core/core.ip-route',
  'scan.xml',
  'vulns.nessus',
];

const env = useBrowser();

// Rows of the files table for files read (archive entries not read have rows of their own).
const inputRows = async (page) => (await allRows(page)).filter((r) => r.format !== 'zip archive');

// The sample's files under a top folder, as people zip a folder, plus an encrypted entry, a
// damaged one and a zip bomb that claims to be small.
function estateZip() {
  const entries = {};
  for (const f of FILES) entries[`estate/${f}`] = readFileSync(path.join(SAMPLE, f));
  entries['estate/secret/vpn.iptables'] = strToU8('*filter\n:INPUT DROP [0:0]\nCOMMIT\n');
  entries['estate/broken.iptables'] = strToU8('*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n'.repeat(40));
  entries['estate/bomb.bin'] = [new Uint8Array(130 * 1024 * 1024), { level: 9 }];
  const z = zipSync(entries);
  const u16 = (at) => z[at] | (z[at + 1] << 8);
  const name = (at, n, lenAt) => new TextDecoder().decode(z.subarray(at + n, at + n + u16(at + lenAt)));
  for (let at = 0; at + 4 <= z.length; at++) {
    const sig = (z[at] | (z[at + 1] << 8) | (z[at + 2] << 16) | (z[at + 3] << 24)) >>> 0;
    if (sig === 0x04034b50) {
      const n = name(at, 30, 26);
      if (n === 'estate/secret/vpn.iptables') z[at + 6] |= 1;
      if (n === 'estate/broken.iptables') z.fill(0xff, at + 30 + n.length, at + 30 + n.length + 6);
    } else if (sig === 0x02014b50) {
      const n = name(at, 46, 28);
      if (n === 'estate/secret/vpn.iptables') z[at + 8] |= 1;
      if (n === 'estate/bomb.bin') z.set([100, 0, 0, 0], at + 24); // claims 100 bytes
    }
  }
  return Buffer.from(z);
}

describe('zip archives', () => {
  test('a chosen archive loads with its folders; bad entries are listed, the rest analysed', T, async () => {
    const { page, context, rec, startedAt } = await env.open({ idle: 800 });
    const zip = estateZip();
    assert.ok(zip.length < 2_000_000, `${zip.length}`);
    await page.setInputFiles('#file-input', { name: 'estate.zip', mimeType: 'application/zip', buffer: zip });
    await waitForExposure(page);
    const rows = await inputRows(page);
    assert.deepEqual(
      rows.map((r) => r.path),
      FILES.map((f) => `estate/${f}`),
    );
    const device = Object.fromEntries(rows.map((r) => [r.path, r.device]));
    assert.equal(device['estate/edge/edge.iptables'], 'edge');
    assert.equal(device['estate/edge/edge.ip-addr'], 'edge');
    assert.equal(device['estate/core/core.ip-route'], 'core');
    assert.ok(rows.every((r) => r.status === 'ok'), JSON.stringify(rows));
    const problems = await page.$$eval('#inputs-table tr.problem-row', (trs) =>
      trs.map((tr) => ({ path: tr.cells[0].title, status: tr.cells[3].textContent, message: tr.cells[4].textContent })),
    );
    const msg = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    assert.equal(problems.length, 3, JSON.stringify(problems));
    assert.ok(problems.every((p) => p.status === 'not read'));
    assert.match(msg['estate.zip/estate/secret/vpn.iptables'], /encrypted \(password-protected\)/);
    assert.match(msg['estate.zip/estate/broken.iptables'], /compressed data is damaged/);
    assert.match(msg['estate.zip/estate/bomb.bin'], /expands to more than .* MB.*zip bomb/);
    assert.match(await page.textContent('#status'), /^Loaded 9 files into 2 devices .* 3 archive entries were not read: see Files\.$/);
    // The archive's estate is analysed: the database is reachable from the vendor origin.
    const exp = await exposureRows(page);
    assert.ok(exp.some((e) => e.origin === 'internet' && e.ip === '203.0.113.2'), JSON.stringify(exp));
    await page.locator('#workspace .col').first().screenshot({ path: path.join(RESULTS, 'inputs-zip.png') });
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('a dropped archive and a file that is not a zip at all', T, async () => {
    const { page, context, rec } = await env.open();
    const zip = zipSync({ 'fw1/rules.iptables': readFileSync(path.join(SAMPLE, 'edge/edge.iptables')), 'fw1/addr.txt': readFileSync(path.join(SAMPLE, 'edge/edge.ip-addr')) });
    await page.evaluate(
      ([good]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(good)], 'fw1.zip', { type: 'application/zip' }));
        dt.items.add(new File(['PK\u0003\u0004 this is not an archive'], 'fake.zip', { type: 'application/zip' }));
        document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
      },
      [[...zip]],
    );
    await waitForExposure(page);
    const rows = await inputRows(page);
    assert.deepEqual(rows.map((r) => [r.path, r.device]), [
      ['fw1/rules.iptables', 'fw1'],
      ['fw1/addr.txt', 'fw1'],
    ]);
    const problem = await page.textContent('#inputs-table tr.problem-row');
    assert.match(problem, /fake\.zip could not be opened: it is not a complete zip archive/);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});

describe('remove and replace', () => {
  test('removing a file and replacing another analyse again; the path keeps the device', T, async () => {
    const { page, context, rec, startedAt } = await env.open({ idle: 800 });
    const files = FILES.map((f) => ({ name: f.split('/').pop(), mimeType: 'text/plain', buffer: readFileSync(path.join(SAMPLE, f)) }));
    // Chosen as a zip, so the folders are there.
    const zip = zipSync(Object.fromEntries(FILES.map((f) => [f, readFileSync(path.join(SAMPLE, f))])));
    await page.setInputFiles('#file-input', { name: 'dmz.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
    await waitForExposure(page);
    assert.equal((await inputRows(page)).length, 9);
    const before = await exposureRows(page);
    const https = (rows) => rows.some((e) => e.origin === 'internet' && e.ip === '203.0.113.2' && e.service === 'tcp/443');
    assert.ok(https(before), JSON.stringify(before));

    // Remove the scan: 8 files, analysed again.
    const scanRow = page.locator('#inputs-table tbody tr', { has: page.locator('td.path[title="scan.xml"]') });
    await scanRow.locator('button.file-remove').click();
    await page.waitForFunction(() => /^Removed scan\.xml\. Loaded 8 files/.test(document.querySelector('#status').textContent));
    await waitForExposure(page);
    assert.deepEqual((await inputRows(page)).map((r) => r.path), FILES.filter((f) => f !== 'scan.xml'));

    // Replace the edge firewall's rules with a version that drops HTTPS from the Internet: the
    // file keeps its path (and so its device), and the exposure is gone.
    const rules = readFileSync(path.join(SAMPLE, 'edge/edge.iptables'), 'utf8');
    const closed = rules.replace(/^(\*filter\n(?::.*\n)*)/m, '$1-A FORWARD -p tcp --dport 443 -j DROP\n');
    assert.notEqual(closed, rules);
    const edgeRow = page.locator('#inputs-table tbody tr', { has: page.locator('td.path[title="edge/edge.iptables"]') });
    const chooser = page.waitForEvent('filechooser');
    await edgeRow.locator('button.file-replace').click();
    await (await chooser).setFiles({ name: 'edge-new.iptables', mimeType: 'text/plain', buffer: Buffer.from(closed) });
    await page.waitForFunction(() => /^Replaced edge\/edge\.iptables with edge-new\.iptables\. Loaded 8 files into 2 devices/.test(document.querySelector('#status').textContent));
    await waitForExposure(page);
    const rows = await inputRows(page);
    assert.equal(rows.find((r) => r.path === 'edge/edge.iptables').device, 'edge');
    const after = await exposureRows(page);
    assert.ok(!after.some((e) => e.origin === 'internet' && e.service === 'tcp/443'), JSON.stringify(after));
    assert.ok(files.length === 9);
    await shot(page, 'inputs-replaced');
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });
});
