// Browser test of the progress shown while many files load: the worker reads them one at a time
// and the progress bar says which one ("reading 12 of 40, scan-12.xml"), then that it assembles
// the network. Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { useBrowser } from './harness.mjs';

const T = { timeout: 240_000 };
const FILES = 40;

/** An nmap XML report of `n` hosts that were down: read in full, but nothing to analyse. */
function scan(k, n) {
  const hosts = [];
  for (let i = 0; i < n; i++) {
    const a = `10.${k}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    hosts.push(
      `<host starttime="1700000000" endtime="1700000001"><status state="down" reason="no-response" reason_ttl="0"/>` +
        `<address addr="${a}" addrtype="ipv4"/><hostnames><hostname name="host-${k}-${i}.example.test" type="PTR"/></hostnames>` +
        `<times srtt="-1" rttvar="-1" to="1000000"/></host>`,
    );
  }
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<nmaprun scanner="nmap" args="nmap -sn 10.${k}.0.0/16" start="1700000000" version="7.94" xmloutputversion="1.05">\n` +
    `${hosts.join('\n')}\n<runstats><finished time="1700000100" elapsed="100" exit="success"/><hosts up="0" down="${n}" total="${n}"/></runstats>\n</nmaprun>\n`
  );
}

const env = useBrowser();

describe('progress', () => {
  test('loading many files says which file is being read', T, async () => {
    const { page, context } = await env.open({ idle: 800 });
    // Every text the progress bar shows, in order.
    await page.evaluate(() => {
      window.progressSeen = [];
      const what = document.getElementById('progress-what');
      new MutationObserver(() => window.progressSeen.push(what.textContent)).observe(what, { childList: true, characterData: true, subtree: true });
    });
    const files = Array.from({ length: FILES }, (_, k) => ({ name: `scan-${k + 1}.xml`, mimeType: 'text/xml', buffer: Buffer.from(scan(k + 1, 4000)) }));
    await page.setInputFiles('#file-input', files);
    await page.waitForFunction((n) => document.querySelectorAll('#inputs-table tbody tr:not(.diag-row)').length >= n, FILES, { timeout: 200_000 });
    const seen = await page.evaluate(() => window.progressSeen);
    const reading = seen.filter((t) => /^Loading the files: reading \d+ of 40, scan-\d+\.xml…$/.test(t));
    assert.ok(reading.length >= 2, `the bar named the files as they were read: ${JSON.stringify(seen.slice(0, 12))}`);
    // In order: the count goes up, and a new count names another file.
    const parts = reading.map((t) => /reading (\d+) of 40, (scan-\d+\.xml)/.exec(t));
    const nums = parts.map((p) => Number(p[1]));
    assert.deepEqual(nums, [...nums].sort((a, b) => a - b));
    assert.equal(new Set(parts.map((p) => p[2])).size, new Set(nums).size, JSON.stringify(reading));
    await context.close();
  });
});
