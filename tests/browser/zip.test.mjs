// The page's zip reader (dist/zip.js, run under Node with the fflate copied into dist/vendor):
// folders kept, damaged, encrypted and oversized entries each get a message while the rest loads,
// and the limits hold whatever sizes an archive claims. Browser tests of zip input are in
// inputs.test.mjs. Run after scripts/build-www.sh.

import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { zipSync, strToU8 } from 'fflate';

import { DIST } from './harness.mjs';

const { readZip, isZip, LIMITS } = await import(pathToFileURL(path.join(DIST, 'zip.js')).href);

const text = (b) => new TextDecoder().decode(b);

// Offsets of every record with this signature (local 0x04034b50, central 0x02014b50).
function records(b, sig) {
  const out = [];
  for (let i = 0; i + 4 <= b.length; i++) {
    if ((b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0 === sig) out.push(i);
  }
  return out;
}
const setU16 = (b, at, v) => ((b[at] = v & 0xff), (b[at + 1] = v >> 8));
const setU32 = (b, at, v) => (setU16(b, at, v & 0xffff), setU16(b, at + 2, v >>> 16));

describe('zip reader', () => {
  test('reads stored and deflated entries with their folders', () => {
    const z = zipSync({
      'edge/edge.iptables': [strToU8('*filter\n:INPUT DROP [0:0]\nCOMMIT\n'), { level: 9 }],
      'edge/edge.ip-addr': [strToU8('1: lo: <LOOPBACK>\n'), { level: 0 }],
      'portolan.yaml': strToU8('crown_jewels: [10.0.0.5]\n'),
      'empty/': new Uint8Array(0),
      '__MACOSX/edge/._edge.iptables': strToU8('junk'),
    });
    assert.ok(isZip(z));
    assert.ok(!isZip(strToU8('*filter\n')));
    const { files, problems } = readZip(z, 'estate.zip');
    assert.deepEqual(problems, []);
    assert.deepEqual(files.map((f) => f.name).sort(), ['edge/edge.ip-addr', 'edge/edge.iptables', 'portolan.yaml']);
    assert.equal(text(files.find((f) => f.name === 'edge/edge.iptables').bytes), '*filter\n:INPUT DROP [0:0]\nCOMMIT\n');
  });

  test('an encrypted entry, a damaged one and an unknown method each get a message; the rest loads', () => {
    const z = zipSync({
      'a.iptables': strToU8('*filter\nCOMMIT\n'.repeat(20)),
      'secret.iptables': strToU8('*filter\nCOMMIT\n'.repeat(20)),
      'broken.iptables': strToU8('*filter\n-A INPUT -j ACCEPT\nCOMMIT\n'.repeat(50)),
      'bz.iptables': strToU8('*filter\nCOMMIT\n'),
    });
    const b = new Uint8Array(z);
    const central = records(b, 0x02014b50);
    const locals = records(b, 0x04034b50);
    const nameAt = (at, n) => text(b.subarray(at + n, at + n + (b[at + (n === 46 ? 28 : 26)] | (b[at + (n === 46 ? 29 : 27)] << 8))));
    const c = (name) => central.find((at) => nameAt(at, 46) === name);
    const l = (name) => locals.find((at) => nameAt(at, 30) === name);
    // secret: the "encrypted" flag; bz: bzip2; broken: its deflate data overwritten.
    setU16(b, c('secret.iptables') + 8, 1);
    setU16(b, l('secret.iptables') + 6, 1);
    setU16(b, c('bz.iptables') + 10, 12);
    const data = l('broken.iptables') + 30 + 'broken.iptables'.length;
    b.fill(0xff, data, data + 8);
    const { files, problems } = readZip(b, 'mixed.zip');
    assert.deepEqual(files.map((f) => f.name), ['a.iptables']);
    const msg = Object.fromEntries(problems.map((p) => [p.name, p.message]));
    assert.match(msg['mixed.zip/secret.iptables'], /encrypted/);
    assert.match(msg['mixed.zip/bz.iptables'], /bzip2/);
    assert.match(msg['mixed.zip/broken.iptables'], /damaged/);
  });

  test('a file that is not a zip, or is cut short, names the archive', () => {
    const z = zipSync({ 'a.iptables': strToU8('*filter\nCOMMIT\n') });
    for (const [bytes, want] of [
      [strToU8('PK\u0003\u0004 not really'), /could not be opened: it is not a complete zip archive/],
      [z.subarray(0, z.length - 10), /could not be opened/],
      [new Uint8Array(0), /could not be opened/],
    ]) {
      const { files, problems } = readZip(bytes, 'bad.zip');
      assert.deepEqual(files, []);
      assert.equal(problems.length, 1);
      assert.equal(problems[0].name, 'bad.zip');
      assert.match(problems[0].message, want);
    }
  });

  test('a zip bomb stops at the size limit whatever size the archive claims', () => {
    const big = new Uint8Array(3 * 1024 * 1024); // zeros: about 3 KB deflated
    const z = new Uint8Array(zipSync({ 'small.txt': strToU8('ok\n'), 'bomb.bin': [big, { level: 9 }], 'after.txt': strToU8('after\n') }));
    assert.ok(z.length < 20_000, `${z.length}`);
    const limits = { entries: 100, bytes: 1024 * 1024 };
    // Honest sizes: refused before decompressing.
    let r = readZip(z, 'bomb.zip', limits);
    assert.deepEqual(r.files.map((f) => f.name), ['small.txt', 'after.txt']);
    assert.match(r.problems[0].message, /expands to 3\.0 MB, past the/);
    // The central directory lies (100 bytes): decompression stops at the limit.
    const at = records(z, 0x02014b50).find((c) => text(z.subarray(c + 46, c + 46 + 8)) === 'bomb.bin');
    setU32(z, at + 24, 100);
    r = readZip(z, 'bomb.zip', limits);
    assert.deepEqual(r.files.map((f) => f.name), ['small.txt', 'after.txt']);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0].message, /more than 1\.0 MB.*zip bomb/);
    assert.ok(LIMITS.bytes >= 64 * 1024 * 1024 && LIMITS.entries >= 1000);
  });

  test('entries past the count limit are reported, the first ones read', () => {
    const many = {};
    for (let i = 0; i < 30; i++) many[`f${String(i).padStart(2, '0')}.txt`] = strToU8(`${i}\n`);
    const { files, problems } = readZip(zipSync(many), 'many.zip', { entries: 10, bytes: 1 << 20 });
    assert.equal(files.length, 10);
    assert.deepEqual(problems, [{ name: 'many.zip', message: 'Only the first 10 of its 30 entries were read; split the archive to read the rest.' }]);
  });

  test('paths are cleaned, duplicates and nested archives reported', () => {
    const inner = zipSync({ 'x.txt': strToU8('x') });
    const z = zipSync({ '../../etc/fw1.iptables': strToU8('a'), 'inner.zip': inner, './sub\\win.txt': strToU8('w') });
    const { files, problems } = readZip(z, 'p.zip');
    assert.deepEqual(files.map((f) => f.name).sort(), ['etc/fw1.iptables', 'sub/win.txt']);
    assert.equal(problems.length, 1);
    assert.match(problems[0].message, /zip archive inside the archive/);
  });
});
