// Accessibility of the whole page: axe-core (package.json pins it; used by this test only) run on
// every view with a sample loaded, in the light and the dark theme: the inputs, overview,
// exposure, attack paths, findings, policy and responsibilities, map, service matrix, what-if (with
// its rule editor) and workshop views with their rows opened, and the file viewer dialog. Then the page is used with
// the keyboard alone: each view is reached with Tab, a sample is loaded and analysed, the file
// viewer opens and closes from the keyboard, and the focused element is always visible.
// Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';

import { loadSample, openPolicyDetails, requestsSince, shot, useBrowser, waitForAttack, waitForExposure, waitForFindings } from './harness.mjs';

const T = { timeout: 300_000 };
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// WCAG 2.1 A and AA, and axe's best practices (landmarks, headings, regions).
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/**
 * axe-core's violations on the page as it is now, as readable lines: "rule-id (impact) target:
 * what is wrong". axe is evaluated by the test driver, not by a script tag: the page's CSP allows
 * no script but its own.
 */
async function violations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  return page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    const found = r.violations.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}) ${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`));
    // An id given twice makes labels and aria references point at the wrong element; axe no
    // longer reports it for every element, so it is checked here.
    const seen = new Map();
    for (const el of document.querySelectorAll('[id]')) seen.set(el.id, (seen.get(el.id) ?? 0) + 1);
    for (const [id, n] of seen) if (n > 1) found.push(`duplicate id "${id}" (${n} elements)`);
    return found;
  }, TAGS);
}

const env = useBrowser();

/** Open every view of the page, one state after the other, and audit each state. */
async function auditEveryView(colorScheme) {
  const { page, context, rec, startedAt } = await env.open({ colorScheme, idle: 800 });
  const found = {};
  const check = async (state) => {
    const v = await violations(page);
    if (v.length) found[state] = v;
  };
  await check('inputs, before a sample is loaded');

  // dmz-db-vendor: overview, exposure, attack paths, findings, responsibilities, map, matrix, workshop.
  await loadSample(page, 'dmz-db-vendor');
  await waitForExposure(page);
  await waitForAttack(page);
  await waitForFindings(page);
  await page.waitForSelector('#workshop-card:not([hidden])');
  await page.waitForSelector('#map-card:not([hidden])');
  await page.waitForFunction(() => /heat from/.test(document.querySelector('#map-status')?.textContent || ''), null, { timeout: 60_000 });
  await page.waitForSelector('#summary-doc .md');
  await check('every view of dmz-db-vendor');

  // Rows opened: an exposure, an attack path with a step's rules, a finding, a workshop hint.
  await page.locator('#exposure tr.exp-row .svc').first().click();
  await page.waitForSelector('#exposure tr.exp-detail .hop');
  await page.locator('#attack tr.path-row .row-toggle').first().click();
  await page.locator('#attack li.attack-step button.disclose').first().click();
  await page.waitForSelector('#attack .hop');
  await page.locator('#findings tr.finding-row .row-toggle').first().click();
  const q = page.locator('#workshop-list .ws-question').first();
  await q.locator('.ws-show-hint').click();
  await q.locator('.ws-show-answer').click();
  await page.locator('#exposure tr.exp-detail .decision button.wi-open').first().click();
  await check('rows opened in exposure, attack paths, findings and workshop');

  // The service matrix computed, a map node selected.
  await page.fill('#mx-port', '22');
  await page.click('#mx-button');
  await page.waitForSelector('#mx-grid');
  await page.click('.map-list-box summary');
  await page.locator('#map-list tbody tr button').first().click();
  await check('service matrix and map list');

  // What-if: a service closed.
  await page.locator('#exposure tr.exp-detail button.wi-close').first().click();
  await page.waitForSelector('#whatif-card:not([hidden]) .wi-summary');
  await check('what-if with one change');

  // What-if: a rule's source line in its edit box.
  if ((await page.locator('#exposure tr.exp-detail .decision').count()) === 0) await page.locator('#exposure tr.exp-row .svc').first().click();
  const decision = page.locator('#exposure tr.exp-detail .decision', { has: page.locator('button.wi-open, button.wi-rewrite') }).first();
  if ((await decision.locator('button.wi-rewrite').count()) === 0) await decision.locator('button.wi-open').click();
  await decision.locator('button.wi-rewrite').click();
  await page.waitForSelector('#exposure .wi-rewrite-form textarea');
  await check('what-if rule editor');

  // The file viewer.
  await page.locator('#exposure tr.exp-detail .loc').first().click();
  await page.waitForSelector('#source-dialog[open] .src-line.current');
  await check('file viewer dialog');
  await page.keyboard.press('Escape');

  // dmz-db-vendor-policy: the policy view with an assertion opened, a matrix cell selected.
  await openPolicyDetails(page);
  await check('policy and responsibilities of dmz-db-vendor-policy');

  await shot(page, `a11y-${colorScheme}`, { fullPage: true });
  assert.deepEqual(rec.errors, []);
  assert.deepEqual(requestsSince(rec, startedAt), []);
  await context.close();
  return found;
}

/**
 * What has the keyboard focus: a description, whether it is in the viewport, and the contrast of
 * its focus indicator (outline, or box-shadow ring) against the background behind it, both
 * composited on a canvas so any CSS colour syntax counts. The file input is visually hidden: its
 * label shows its focus.
 */
function focusState() {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const shown = el.id === 'file-input' ? document.querySelector('label[for="file-input"]') : el;
  const s = getComputedStyle(shown);
  const r = shown.getBoundingClientRect();
  // The backgrounds behind a node, from the nearest opaque one up: painted in turn they give the
  // colour seen, translucent layers included.
  const layers = (node) => {
    const out = [];
    for (let n = node; n; n = n.parentElement) {
      const c = getComputedStyle(n).backgroundColor;
      out.unshift(c);
      if (paint(c, true)) break;
    }
    return out;
  };
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  // paint(colours…): the colour seen when they are painted one over the other on the page's
  // colour; paint(c, true): whether c alone is opaque.
  const paint = (first, ...rest) => {
    if (rest[0] === true) {
      ctx.clearRect(0, 0, 1, 1);
      ctx.fillStyle = first;
      ctx.fillRect(0, 0, 1, 1);
      return ctx.getImageData(0, 0, 1, 1).data[3] === 255;
    }
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = getComputedStyle(document.documentElement).colorScheme.includes('dark') && matchMedia('(prefers-color-scheme: dark)').matches ? '#000' : '#fff';
    ctx.fillRect(0, 0, 1, 1);
    for (const c of [first, ...rest]) {
      ctx.fillStyle = c;
      ctx.fillRect(0, 0, 1, 1);
    }
    return [...ctx.getImageData(0, 0, 1, 1).data.slice(0, 3)];
  };
  const lum = (rgb) => {
    const [R, G, B] = rgb.map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  const contrast = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((m, n) => n - m);
    return (x + 0.05) / (y + 0.05);
  };
  // The outline is drawn outside the element: over its parent's background.
  const under = layers(shown.parentElement ?? shown);
  const behind = paint(...under);
  let ring = null;
  if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) ring = s.outlineColor;
  else if (s.boxShadow && s.boxShadow !== 'none') ring = /^(rgba?\([^)]*\)|color\([^)]*\)|#\w+)/.exec(s.boxShadow)?.[1] ?? null;
  const ratio = ring ? contrast(paint(...under, ring), behind) : 0;
  const text = (shown.getAttribute('aria-label') || shown.textContent || shown.getAttribute('href') || '').replace(/\s+/g, ' ').trim().slice(0, 50);
  const v = el.closest('section.card[id], nav[id], #workspace, #source-dialog, header');
  return {
    id: el.id,
    href: el.getAttribute('href'),
    classes: typeof el.className === 'string' ? el.className.split(/\s+/) : [],
    view: v ? v.id || v.tagName.toLowerCase() : null,
    what: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''} "${text}"`,
    inViewport: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
    ratio: Math.round(ratio * 100) / 100,
  };
}

/** Press `key` until `done(focus)` holds, at most `max` times; every focus is checked to be visible. */
async function pressUntil(page, key, done, max, seen = []) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    const f = await page.evaluate(focusState);
    if (f) {
      seen.push(f);
      assert.ok(f.inViewport, `the focused ${f.what} is scrolled out of view`);
      assert.ok(f.ratio >= 3, `the focus of ${f.what} is hard to see: its indicator's contrast is ${f.ratio}:1, under 3:1`);
    }
    if (f && done(f)) return f;
  }
  throw new Error(`${max} presses of ${key} did not get there; the last ones: ${seen.slice(-5).map((f) => f.what).join(', ')}`);
}

describe('accessibility', () => {
  for (const scheme of ['light', 'dark']) {
    test(`axe-core finds no violation in any view, ${scheme} theme`, T, async () => {
      const found = await auditEveryView(scheme);
      assert.deepEqual(found, {}, JSON.stringify(found, null, 2));
    });
  }

  for (const scheme of ['light', 'dark']) {
    test(`the keyboard alone: a sample, every view, an analysis and the file viewer, focus always visible, ${scheme} theme`, T, async () => {
      const { page, context, rec, startedAt } = await env.open({ colorScheme: scheme, idle: 800 });
      const isId = (id) => (f) => f.id === id;

      // A sample chosen and loaded from the keyboard.
      await pressUntil(page, 'Tab', isId('sample-select'), 20);
      await page.keyboard.press('ArrowDown');
      assert.equal(await page.inputValue('#sample-select'), 'dmz-db-vendor');
      await pressUntil(page, 'Tab', isId('sample-button'), 3);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => /^Loaded/.test(document.querySelector('#status').textContent));
      await waitForExposure(page);
      await waitForAttack(page);
      await page.waitForSelector('#map-card:not([hidden])');

      // Tab walks the page in reading order, each focus visible; an analysis is run on the way.
      const seen = [];
      await pressUntil(page, 'Tab', isId('origins'), 400, seen);
      await page.keyboard.press('Control+A');
      await page.keyboard.type('internet, vendor');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelectorAll('#exposure .origin').length === 2).catch(async (e) => {
        throw new Error(`${e.message}: ${await page.inputValue('#origins')} | ${await page.textContent('#status')} | ${await page.$$eval('#exposure .origin-name', (x) => x.map((y) => y.textContent).join())}`);
      });
      assert.deepEqual(await page.$$eval('#exposure .origin-name', (e) => e.map((x) => x.textContent)), ['internet', 'vendor']);
      await pressUntil(page, 'Tab', isId('q-port'), 400, seen);
      const views = new Set(seen.map((f) => f.view));
      for (const id of ['workshop-card', 'views-nav', 'overview-card', 'map-card', 'exposure-card', 'attack-card', 'findings-card', 'roles-card', 'matrix-card', 'workspace']) {
        assert.ok(views.has(id), `Tab never enters ${id}: ${[...views].join(' ')}`);
      }
      // Reading order: the views come in the order of the page.
      const firstVisit = [...views].filter((v) => v !== null);
      const domOrder = await page.evaluate((ids) => ids.slice().sort((a, b) => (document.getElementById(a).compareDocumentPosition(document.getElementById(b)) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1)), firstVisit.filter((v) => v !== 'header'));
      assert.deepEqual(firstVisit.filter((v) => v !== 'header'), domOrder);

      // Each link of the views' navigation, reached and followed from the keyboard, shows its
      // view, and the next Tab goes into it.
      const links = await page.$$eval('#views-nav a', (as) => as.filter((a) => a.checkVisibility()).map((a) => a.getAttribute('href')));
      assert.ok(links.length >= 9, links.join(' '));
      for (const href of links) {
        await pressUntil(page, 'Shift+Tab', (f) => f.view === 'views-nav' && f.href === href, 400);
        await page.keyboard.press('Enter');
        const target = href.slice(1);
        await page.waitForFunction((id) => location.hash === `#${id}`, target).catch(async (e) => { throw new Error(`${e.message}: hash ${await page.evaluate(() => location.hash)}, focus ${(await page.evaluate(focusState))?.what}`); });
        const top = await page.evaluate((id) => document.getElementById(id).getBoundingClientRect().top, target);
        assert.ok(top > -5 && top < 200, `${href}: the view is at ${top}px`);
        const view = target === 'query-title' ? 'workspace' : target;
        const f = await pressUntil(page, 'Tab', () => true, 1);
        if (target !== 'policy-card') assert.equal(f.view, view, `Tab after ${href} goes to ${f.what}`);
      }

      // A figure of the overview leads into its view: the focus goes there too.
      const figure = await pressUntil(page, 'Shift+Tab', (f) => f.view === 'overview-card' && f.classes.includes('ov-link'), 400);
      await page.keyboard.press('Enter');
      const landed = await page.evaluate(focusState);
      assert.equal(landed?.view, figure.href.slice(1), `${figure.what} leads the focus to ${landed?.what}`);
      assert.ok(landed.inViewport && landed.ratio >= 3, JSON.stringify(landed));

      // The file viewer, opened from an exposure's rule and closed with Escape, then with its
      // Close button: focus goes into the dialog and comes back to the link that opened it.
      await pressUntil(page, 'Shift+Tab', (f) => f.view === 'views-nav' && f.href === '#exposure-card', 400);
      await page.keyboard.press('Enter');
      await pressUntil(page, 'Tab', (f) => f.view === 'exposure-card' && f.classes.includes('row-toggle'), 100);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#exposure tr.exp-detail .loc');
      const loc = await pressUntil(page, 'Tab', (f) => f.view === 'exposure-card' && f.classes.includes('loc'), 100);
      for (const close of ['Escape', 'Enter']) {
        await page.keyboard.press('Enter');
        await page.waitForSelector('#source-dialog[open] .src-line.current');
        const inside = await page.evaluate(focusState);
        assert.equal(inside?.view, 'source-dialog', `focus in the open file viewer: ${inside?.what}`);
        assert.ok(inside.ratio >= 3, `the focus of ${inside.what} is hard to see (${inside.ratio}:1)`);
        if (close === 'Enter') await pressUntil(page, 'Tab', isId('source-close'), 5);
        await page.keyboard.press(close);
        await page.waitForSelector('#source-dialog:not([open])', { state: 'attached' });
        const back = await page.evaluate(focusState);
        assert.equal(back?.what, loc.what, `after ${close}, focus is back on the link that opened the file`);
      }

      assert.deepEqual(rec.errors, []);
      assert.deepEqual(requestsSince(rec, startedAt), []);
      await context.close();
    });
  }
});
