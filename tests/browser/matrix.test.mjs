// Browser tests of the Service matrix view: the matrix computed in the page for a bundled sample is
// compared with what the native CLI prints for the same files (`portolan matrix --json`; the binary
// is PORTOLAN_BIN or target/debug/portolan), class by class and pair by pair, and its JSON export
// with the CLI's JSON. Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import { portolanJson, requestsSince, RESULTS, sampleArgs, SAMPLES, useBrowser } from './harness.mjs';

const T = { timeout: 120_000 };

const env = useBrowser();

/** `portolan matrix --json ARGS` run in `cwd`. */
const cli = (cwd, args) => portolanJson(['matrix', '--json', ...args], { cwd });

/** `portolan matrix --json ARGS` on the files of sample `id`, run where the page's paths are the same. */
const cliMatrix = (id, args) => cli(SAMPLES, [...args, ...sampleArgs(id)]);

/** Open the page, load sample `id` and wait for the matrix card. */
const withSample = (id) => env.openSample(id, { ready: (page) => page.waitForSelector('#matrix-card:not([hidden]) #mx-form') });

/** Fill the form and compute; resolves when the matrix or an error is shown. */
async function compute(page, { device = null, proto = 'tcp', port, sport = '', toDevice = false }) {
  if (device !== null) await page.selectOption('#mx-device', device);
  await page.selectOption('#mx-proto', proto);
  await page.fill('#mx-port', String(port));
  await page.fill('#mx-sport', String(sport));
  await page.check(toDevice ? '#mx-dir-input' : '#mx-dir-forward');
  const before = await page.textContent('#mx-status');
  await page.click('#mx-button');
  await page.waitForFunction((b) => {
    const s = document.querySelector('#mx-status');
    return s.textContent !== b && !/^Computing/.test(s.textContent);
  }, before);
}

/** The classes and the grid as shown. */
async function shown(page) {
  return page.evaluate(() => {
    const classes = [...document.querySelectorAll('#mx-classes tbody tr')].map((r) => ({
      id: Number(r.dataset.id),
      label: r.querySelector('.cls-id').textContent,
      addresses: [...r.querySelectorAll('.cls-addr li')].map((li) => li.textContent),
    }));
    const cells = [...document.querySelectorAll('#mx-grid tbody td')].map((td) => ({
      from: Number(td.dataset.from),
      to: Number(td.dataset.to),
      state: td.dataset.state,
      row: td.parentElement.querySelector('th').textContent,
      col: td.closest('table').tHead.rows[0].cells[td.cellIndex].textContent,
      spoken: td.querySelector('.visually-hidden').textContent,
    }));
    return { classes, cells };
  });
}

const key = ([a, b]) => `${a}→${b}`;
const sorted = (pairs) => pairs.map(key).sort();

/** Assert that what the page shows is the CLI's matrix `m`. */
function sameAsCli(view, m) {
  assert.deepEqual(
    view.classes.map((c) => ({ id: c.id, addresses: c.addresses })),
    m.classes.map((c) => ({ id: c.id, addresses: c.addresses })),
  );
  assert.deepEqual(
    view.classes.map((c) => c.label),
    m.classes.map((c) => `#${c.id}`),
  );
  // A full grid: every class as source and as destination.
  assert.equal(view.cells.length, m.classes.length ** 2);
  for (const c of view.cells) {
    assert.equal(c.row, `#${c.from}`);
    assert.equal(c.col, `#${c.to}`);
  }
  const upper = view.cells.filter((c) => c.state !== '').map((c) => [c.from, c.to]);
  const lower = view.cells.filter((c) => c.state === 'allowed').map((c) => [c.from, c.to]);
  assert.deepEqual(sorted(upper), sorted(m.allowed));
  assert.deepEqual(sorted(lower), sorted(m.allowed_definite ?? m.allowed));
  const spoken = { allowed: 'allowed', possible: 'possibly allowed', '': 'not allowed' };
  for (const c of view.cells) assert.equal(c.spoken, spoken[c.state]);
}

async function download(page, selector) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  assert.equal(await d.failure(), null);
  assert.match(d.url(), /^blob:/);
  return { name: d.suggestedFilename(), text: readFileSync(await d.path(), 'utf8') };
}

describe('service matrix view', () => {
  test('edge-fw, tcp/22 through the firewall: the classes and pairs of portolan matrix, its JSON exported, no request', T, async () => {
    const { page, context, rec, startedAt } = await withSample('edge-fw');
    assert.ok(await page.locator('#views-nav a[href="#matrix-card"]').isVisible());
    // One firewall: no device to pick, as the CLI without --device.
    assert.equal(await page.locator('#mx-device').isVisible(), false);
    assert.equal(await page.isDisabled('#mx-export'), true);

    await compute(page, { port: 22 });
    const m = cliMatrix('edge-fw', ['--dport', '22']);
    assert.equal(m.device, 'edge-fw');
    assert.ok(m.classes.length >= 2, 'the sample splits the addresses into classes');
    assert.ok(m.allowed.length >= 1, 'some connection is allowed');
    const view = await shown(page);
    sameAsCli(view, m);
    assert.match(await page.textContent('#mx-status'), new RegExp(`^${m.classes.length} classes, `));
    assert.equal(await page.textContent('#mx-count'), String(m.classes.length));
    assert.match(await page.textContent('.mx-summary'), /edge-fw · tcp\/22 · connections through the device/);
    assert.doesNotMatch(await page.textContent('#mx-result'), /null|undefined/);
    // The legend names the three kinds of cells.
    const legend = await page.textContent('.mx-legend');
    for (const word of ['allowed', 'possibly allowed', 'not allowed']) assert.ok(legend.includes(word), legend);

    const file = await download(page, '#mx-export');
    assert.equal(file.name, 'matrix-edge-fw-tcp-22.json');
    assert.deepEqual(JSON.parse(file.text), m);

    await page.locator('#matrix-card').screenshot({ path: path.join(RESULTS, 'matrix-edge-fw-tcp-22.png') });
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('to the device itself and from one source port, as --to-device and --sport', T, async () => {
    const { page, context, rec, startedAt } = await withSample('edge-fw');
    await compute(page, { port: 22, toDevice: true });
    const input = cliMatrix('edge-fw', ['--dport', '22', '--to-device']);
    assert.equal(input.direction, 'input');
    sameAsCli(await shown(page), input);
    assert.match(await page.textContent('.mx-summary'), /connections to the device itself/);
    assert.equal((await download(page, '#mx-export')).name, 'matrix-edge-fw-tcp-22-input.json');

    await compute(page, { proto: 'udp', port: 53, sport: 1024 });
    const udp = cliMatrix('edge-fw', ['--proto', 'udp', '--dport', '53', '--sport', '1024']);
    sameAsCli(await shown(page), udp);
    assert.deepEqual(JSON.parse((await download(page, '#mx-export')).text), udp);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('several firewalls: the device is picked, and each matrix is the CLI one with --device', T, async () => {
    const { page, context, rec, startedAt } = await withSample('dmz-db-vendor');
    assert.ok(await page.locator('#mx-device').isVisible());
    assert.deepEqual((await page.$$eval('#mx-device option', (os) => os.map((o) => o.value))).sort(), ['core', 'edge']);
    for (const device of ['edge', 'core']) {
      await compute(page, { device, port: 443 });
      sameAsCli(await shown(page), cliMatrix('dmz-db-vendor', ['--dport', '443', '--device', device]));
      assert.match(await page.textContent('.mx-summary'), new RegExp(`^${device} · tcp/443`));
    }
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(requestsSince(rec, startedAt), []);
    await context.close();
  });

  test('a rule with unmodelled parts: its pairs are "possibly allowed", the others "allowed", as the CLI bounds them', T, async () => {
    const rules = [
      '*filter',
      ':INPUT DROP [0:0]',
      ':FORWARD DROP [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      '-A FORWARD -s 10.1.0.0/16 -d 10.2.0.0/16 -p tcp --dport 22 -j ACCEPT',
      '-A FORWARD -s 10.3.0.0/16 -p tcp --dport 22 -m string --algo bm --string "ssh" -j ACCEPT',
      'COMMIT',
      '',
    ].join('\n');
    const dir = mkdtempSync(path.join(tmpdir(), 'portolan-matrix-'));
    try {
      writeFileSync(path.join(dir, 'fw.iptables'), rules);
      const m = cli(dir, ['--dport', '22', 'fw.iptables']);
      assert.ok(m.allowed_definite && m.allowed_definite.length < m.allowed.length, 'the CLI has two bounds');
      const { page, context, rec } = await env.open();
      await page.setInputFiles('#file-input', { name: 'fw.iptables', mimeType: 'text/plain', buffer: Buffer.from(rules) });
      await page.waitForSelector('#matrix-card:not([hidden]) #mx-form');
      await compute(page, { port: 22 });
      const view = await shown(page);
      sameAsCli(view, m);
      assert.ok(view.cells.some((c) => c.state === 'possible'));
      assert.ok(view.cells.some((c) => c.state === 'allowed'));
      assert.match(await page.textContent('.mx-summary'), /some pairs depend on unmodelled rule parts/);
      assert.deepEqual(await page.$$eval('.mx-notes', (ns) => ns.map((n) => n.querySelector('h3').textContent)), ['Rules with unmodelled parts', 'Notes']);
      assert.ok((await page.textContent('.mx-notes')).includes('fw.iptables:6:'));
      assert.deepEqual(JSON.parse((await download(page, '#mx-export')).text), m);
      assert.deepEqual(rec.errors, []);
      await context.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('keyboard only: the form is submitted with Enter, the grid can be focused, bad ports are refused', T, async () => {
    const { page, context } = await withSample('edge-fw');
    // An empty or out-of-range port is refused in the page, with the focus back on the field.
    await page.focus('#mx-port');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /destination port/.test(document.querySelector('#mx-status').textContent));
    assert.equal(await page.evaluate(() => document.activeElement.id), 'mx-port');
    await page.keyboard.type('70000');
    await page.keyboard.press('Enter');
    assert.match(await page.textContent('#mx-status'), /between 0 and 65535/);
    assert.equal(await page.locator('#mx-grid').count(), 0);

    await page.fill('#mx-port', '');
    await page.keyboard.type('22');
    await page.keyboard.press('Tab'); // to the source port
    assert.equal(await page.evaluate(() => document.activeElement.id), 'mx-sport');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#mx-grid');
    // Every control has a name; the scrolling regions are reachable with Tab.
    for (const id of ['mx-proto', 'mx-port', 'mx-sport', 'mx-dir-forward', 'mx-dir-input']) {
      assert.ok((await page.$eval(`#${id}`, (e) => e.labels.length)) > 0, `${id} has a label`);
    }
    const regions = await page.$$eval('#mx-result [role="region"]', (rs) => rs.map((r) => [r.getAttribute('aria-label'), r.tabIndex]));
    assert.deepEqual(regions, [
      ['Classes of addresses', 0],
      ['Service matrix grid', 0],
    ]);
    assert.ok((await page.textContent('#mx-grid caption')).includes('rows are the class a connection comes from'));

    // A source port that is not a number is refused too.
    await page.fill('#mx-sport', 'x');
    await page.click('#mx-button');
    assert.match(await page.textContent('#mx-status'), /source port/);
    await context.close();
  });
});
