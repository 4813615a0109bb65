// Browser tests of the Map view on the bundled sample "dmz-db-vendor": the nodes drawn and their
// heat against what the native CLI reports for the same files (the CLI binary is PORTOLAN_BIN, or
// debug/portolan in CARGO_TARGET_DIR or target/), an attack path highlighted (from the map's own
// control and from the Attack paths view), a group closed and opened, a host clicked on the
// canvas, both colour schemes, no CSP violation and no request after load.
// Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';

import { requestsSince, sampleReport, shot, useBrowser, waitForAttack } from './harness.mjs';

const T = { timeout: 180_000 };
const SAMPLE = 'dmz-db-vendor';
const RANK = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

const env = useBrowser();

/** `portolan analyze --format json` of the sample's files, as the page loads them. */
const cli = () => sampleReport(SAMPLE);

/** What the map must say about each scanned host, computed from the CLI's report alone. */
function expectedHosts(r) {
  const out = new Map();
  const origins = r.origins.map((o) => o.name);
  for (const h of r.hosts) {
    if (!h.up) continue;
    const addr = h.addresses[0];
    const per = origins
      .map((o) => [o, r.exposures.filter((e) => e.origin === o && h.addresses.includes(e.ip)).length])
      .filter(([, n]) => n > 0);
    let worst = null;
    const worse = (s) => {
      if (worst === null || RANK[s] > RANK[worst]) worst = s;
    };
    for (const host of r.hosts.filter((x) => x.addresses[0] === addr)) {
      const v = host.vulnerabilities;
      if (v) for (const s of ['critical', 'high', 'medium', 'low']) if (v[s] > 0) worse(s);
    }
    for (const f of r.findings) if (f.witness && h.addresses.includes(f.witness.dst)) worse(f.severity);
    const jewel = r.crown_jewels.some(([a]) => h.addresses.includes(a));
    let text = per.length ? per.map(([o, n]) => `${n} service${n === 1 ? '' : 's'} to ${o}`).join(', ') : 'nothing exposed';
    if (worst) text += `; worst: ${worst}`;
    if (jewel) text += '; crown jewel';
    let level = 0;
    if (per.length) {
      level = { 4: 4, 3: 3, 2: 2, 1: 2 }[RANK[worst]] ?? 1;
      if (per.some(([o]) => o === 'internet')) level = Math.max(level, 2);
    }
    out.set(`host:${addr}`, { text, level, jewel });
  }
  return out;
}

async function mapRows(page) {
  return page.$$eval('#map-list tbody tr', (rows) =>
    rows.map((r) => ({
      id: r.dataset.id,
      kind: r.dataset.kind,
      heat: Number(r.dataset.heat),
      label: r.cells[0].textContent,
      inside: r.cells[2].textContent,
      heatText: r.cells[3].textContent,
      group: r.cells[4].textContent,
    })),
  );
}

/** The Cytoscape instance Cytoscape keeps on its container, for reading the drawing. */
async function drawn(page) {
  return page.evaluate(() => {
    const cy = document.getElementById('map-canvas')._cyreg.cy;
    return {
      nodes: cy.nodes().map((n) => ({ id: n.id(), classes: n.classes(), parent: n.parent().length ? n.parent().id() : null })),
      edges: cy.edges().map((e) => ({ id: e.id(), source: e.source().id(), target: e.target().id(), classes: e.classes() })),
    };
  });
}

/** Open the page, load the sample, and wait for the map with the analysis's heat. */
const mapOfSample = (opts) =>
  env.openSample(SAMPLE, {
    ...opts,
    ready: async (page) => {
      await page.waitForSelector('#map-card:not([hidden])');
      await page.waitForFunction(() => /heat from/.test(document.querySelector('#map-status')?.textContent || ''), null, { timeout: 60_000 });
      await waitForAttack(page);
    },
  });

describe('the map', () => {
  test('draws the devices and hosts of the analysis with their heat', T, async () => {
    const r = cli();
    const { page, context, rec, startedAt } = await mapOfSample();
    const rows = await mapRows(page);
    const ids = new Set(rows.map((x) => x.id));
    // Every device and every host the scans saw up, each once.
    assert.deepEqual(rows.filter((x) => x.kind === 'device').map((x) => x.id).sort(), r.devices.map((d) => `device:${d.name}`).sort());
    const want = expectedHosts(r);
    assert.ok(want.size >= 4);
    assert.deepEqual(rows.filter((x) => x.kind === 'host').map((x) => x.id).sort(), [...want.keys()].sort());
    assert.equal(ids.size, rows.length, 'node ids are unique');
    // The heat of each host is the CLI's exposures to it, per origin, and its worst weakness.
    for (const [id, w] of want) {
      const row = rows.find((x) => x.id === id);
      assert.equal(row.heatText, w.text, `heat of ${id}`);
      assert.equal(row.heat, w.level, `heat level of ${id}`);
    }
    // The web shop (critical, public exploit, open to the Internet) is at the top of the scale.
    assert.equal(rows.find((x) => x.id === 'host:192.168.10.20').heat, 4);
    // Origins: the CLI's.
    assert.deepEqual(rows.filter((x) => x.kind === 'origin').map((x) => x.label), r.origins.map((o) => o.name));
    // The hosts sit in their subnets.
    assert.match(rows.find((x) => x.id === 'host:10.20.2.5').inside, /^10\.20\.2\.0\/24/);
    // The canvas draws the same nodes, with the same heat classes, inside the same groups.
    const d = await drawn(page);
    assert.deepEqual(d.nodes.map((n) => n.id).sort(), [...ids].sort());
    for (const n of d.nodes) {
      const row = rows.find((x) => x.id === n.id);
      assert.ok(n.classes.includes(`heat-${row.heat}`), `${n.id} is drawn with heat ${row.heat}`);
    }
    assert.equal(d.nodes.find((n) => n.id === 'host:10.20.2.5').parent, 'subnet:10.20.2.0/24');
    assert.ok(d.nodes.find((n) => n.id === 'host:10.20.2.5').classes.includes('jewel'));
    assert.ok(d.edges.some((e) => e.source === 'origin:internet' && e.target === 'device:edge'), 'the Internet enters at edge');
    assert.match(await page.textContent('#map-status'), /2 devices, .*heat from internet, vendor, phished/);
    await page.$eval('#map-card', (e) => e.scrollIntoView({ block: 'start' }));
    await shot(page, 'map-dmz-db-vendor');
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no CSP violation (Cytoscape injects no style)');
    assert.deepEqual(requestsSince(rec, startedAt), [], 'no request after load');
    await context.close();
  });

  test('highlights an attack path, from the map and from the Attack paths view', T, async () => {
    const r = cli();
    const { page, context, rec, startedAt } = await mapOfSample();
    const options = await page.$$eval('#map-path option', (els) => els.map((e) => [e.value, e.textContent]));
    assert.equal(options.length, r.attack_paths.length + 1, 'one choice per path, and none');
    const first = r.attack_paths.findIndex((p) => p.origin === 'internet');
    assert.ok(first >= 0);
    await page.selectOption('#map-path', String(first));
    const d = await drawn(page);
    const onPath = new Set(d.nodes.filter((n) => n.classes.includes('on-path')).map((n) => n.id));
    const p = r.attack_paths[first];
    // Every host the CLI's path takes over, and every firewall a step crosses, is highlighted.
    for (const s of p.steps) {
      assert.ok(onPath.has(`host:${s.to}`), `${s.to} is on the path`);
      for (const h of s.hops) assert.ok(onPath.has(`device:${h.device}`), `${h.device} is on the path`);
    }
    assert.ok(onPath.has('origin:internet'));
    assert.ok(d.edges.some((e) => e.classes.includes('on-path') && e.source === 'origin:internet'), 'the entry is highlighted');
    const steps = d.edges.filter((e) => e.classes.includes('step'));
    assert.equal(steps.length, p.steps.length, 'one arrow per step');
    assert.ok(d.nodes.some((n) => n.classes.includes('faded')), 'what the path does not cross is faded');
    await page.$eval('#map-card', (e) => e.scrollIntoView({ block: 'start' }));
    await shot(page, 'map-dmz-db-vendor-path');
    // From the Attack paths view: the vendor's path.
    const vendor = r.attack_paths.findIndex((x) => x.origin === 'vendor');
    assert.ok(vendor >= 0);
    await page.click(`#attack tr.path-row[data-index="${vendor}"] .row-toggle`);
    await page.click(`#attack-detail-${vendor} .show-on-map`);
    await page.waitForFunction((v) => document.querySelector('#map-path').value === String(v), vendor);
    const d2 = await drawn(page);
    const on2 = new Set(d2.nodes.filter((n) => n.classes.includes('on-path')).map((n) => n.id));
    assert.ok(on2.has('origin:vendor') && on2.has(`host:${r.attack_paths[vendor].target}`));
    assert.ok(!on2.has('origin:internet'));
    // None: nothing faded.
    await page.selectOption('#map-path', '');
    assert.equal((await drawn(page)).nodes.filter((n) => n.classes.includes('faded')).length, 0);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('closes and opens a group, and shows a clicked host', T, async () => {
    const r = cli();
    const { page, context, rec, startedAt } = await mapOfSample();
    await page.click('.map-list-box summary');
    const close = page.locator('#map-list tr[data-id="subnet:10.20.2.0/24"] button', { hasText: 'Close' });
    await close.click();
    await page.waitForSelector('#map-list tr[data-id="subnet:10.20.2.0/24"] button:text("Open")');
    let rows = await mapRows(page);
    assert.ok(!rows.some((x) => x.id === 'host:10.20.2.5'), 'the closed subnet hides its host');
    const subnet = rows.find((x) => x.id === 'subnet:10.20.2.0/24');
    assert.match(subnet.label, /1 host/);
    assert.match(subnet.heatText, /crown jewel/, 'the closed group shows what is inside');
    let d = await drawn(page);
    assert.ok(d.nodes.find((n) => n.id === 'subnet:10.20.2.0/24').classes.includes('collapsed'));
    assert.ok(!d.nodes.some((n) => n.id === 'host:10.20.2.5'));
    // The open button is reachable by keyboard and named for screen readers.
    const open = page.locator('#map-list tr[data-id="subnet:10.20.2.0/24"] button', { hasText: 'Open' });
    assert.equal(await open.getAttribute('aria-label'), `Open ${subnet.label}`);
    await open.focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#map-list tr[data-id="host:10.20.2.5"]');
    // The focus stays on the group's button, now named for closing it.
    assert.match(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), /^Close 10\.20\.2\.0\/24/);
    d = await drawn(page);
    assert.equal(d.nodes.find((n) => n.id === 'host:10.20.2.5').parent, 'subnet:10.20.2.0/24');

    // Click the web shop on the canvas.
    await page.$eval('#map-card', (e) => e.scrollIntoView({ block: 'start' }));
    // The page may still be moving under the pointer (views below filling in): aim again if a
    // click lands before it settles.
    const shown = () => page.waitForFunction(() => /192\.168\.10\.20/.test(document.querySelector('#map-detail h3')?.textContent || ''), null, { timeout: 3_000 });
    let hit = false;
    for (let attempt = 0; attempt < 3 && !hit; attempt++) {
      const at = await page.evaluate(() => {
        const c = document.getElementById('map-canvas');
        const cy = c._cyreg.cy;
        const n = cy.getElementById('host:192.168.10.20');
        cy.zoom(2);
        cy.center(n);
        const p = n.renderedPosition();
        const b = c.getBoundingClientRect();
        return { x: b.left + p.x, y: b.top + p.y };
      });
      await page.mouse.click(at.x, at.y);
      hit = await shown().then(() => true, () => false);
    }
    assert.ok(hit, 'a click on the host selects it');
    const title = await page.textContent('#map-detail h3');
    assert.match(title, /^Host/);
    assert.match(title, /192\.168\.10\.20/);
    const text = await page.textContent('#map-detail');
    const web = r.hosts.filter((h) => h.addresses.includes('192.168.10.20'));
    for (const h of web) for (const o of h.open) assert.ok(text.includes(o), `the detail lists ${o}`);
    assert.match(text, /CVE-2021-41773/);
    const exposures = r.exposures.filter((e) => e.ip === '192.168.10.20');
    assert.equal(await page.locator('#map-detail .map-exposures li').count(), exposures.length);
    // Its exposures in the exposure table.
    await page.click('#map-detail button:text("Its exposures")');
    assert.equal(await page.inputValue('#exposure-filter'), '192.168.10.20');
    await page.waitForFunction(() => /192\.168\.10\.20/.test(document.querySelector('#exposure-shown').textContent) || document.querySelectorAll('#exposure tr.exp-row').length > 0);
    // Rows to the address, and port forwards to it.
    const rowsShown = await page.$$eval('#exposure tr.exp-row', (els) => els.map((e) => ({ ip: e.querySelector('.ip').textContent, text: e.textContent })));
    assert.ok(rowsShown.every((x) => x.text.includes('192.168.10.20')));
    assert.equal(rowsShown.filter((x) => x.ip === '192.168.10.20').length, exposures.length);
    // A device: its files with their coverage.
    await page.click('#map-list tr[data-id="device:core"] td:first-child button');
    const dev = await page.textContent('#map-detail');
    for (const f of r.inputs.filter((i) => i.device === 'core')) assert.ok(dev.includes(f.path), `core's detail lists ${f.path}`);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('reads well in the dark colour scheme', T, async () => {
    const { page, context, rec } = await mapOfSample({ colorScheme: 'dark' });
    const bg = await page.evaluate(() => {
      const cy = document.getElementById('map-canvas')._cyreg.cy;
      return { label: cy.getElementById('device:edge').style('color'), page: getComputedStyle(document.body).color };
    });
    const rgb = (c) => c.replace(/\s+/g, '');
    assert.equal(rgb(bg.label), rgb(bg.page), "labels use the page's text colour");
    await page.$eval('#map-card', (e) => e.scrollIntoView({ block: 'start' }));
    await shot(page, 'map-dmz-db-vendor-dark');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});
