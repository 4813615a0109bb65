// Zip archives given to the page: their files are read here, in the worker, with fflate's
// streaming DEFLATE decoder (copied into the build as vendor/fflate.js). The archive's own
// structure (central directory, local headers, Zip64 records, CRC-32) is read by this module so
// that each entry is judged alone: a damaged, encrypted or oversized entry gets its own message
// and every other entry still loads. Entries keep their folders, so files grouped by folder in
// the archive form the same devices as a dropped folder.
//
// Limits against archives that expand without bound ("zip bombs"): at most LIMITS.entries
// entries are read, and the files read from one archive hold at most LIMITS.bytes bytes in
// total. Sizes are counted as the data is decompressed, not taken from the archive's own claims.

import { Inflate } from './vendor/fflate.js';

export const LIMITS = Object.freeze({ entries: 5000, bytes: 128 * 1024 * 1024 });

const CHUNK = 16 * 1024; // compressed bytes handed to the decoder at a time (≤ ~16 MB out)

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;

/** True when the bytes start like a zip archive (a local header, or the end record of an empty one). */
export function isZip(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length < 4 || b[0] !== 0x50 || b[1] !== 0x4b) return false;
  return (b[2] === 3 && b[3] === 4) || (b[2] === 5 && b[3] === 6);
}

const mib = (n) => `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;

class ZipError extends Error {}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c;
  }
  return t;
})();

function crc32(chunks) {
  let c = -1;
  for (const b of chunks) for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

// Little-endian reads that fail with a message instead of reading past the end.
function reader(b) {
  const need = (at, n, what) => {
    if (at < 0 || at + n > b.length) throw new ZipError(`the archive is cut short (${what} runs past its end)`);
  };
  return {
    u16: (at, what = 'a record') => (need(at, 2, what), b[at] | (b[at + 1] << 8)),
    u32: (at, what = 'a record') => (need(at, 4, what), (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000),
    u64: (at, what = 'a record') => {
      need(at, 8, what);
      const lo = (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;
      const hi = (b[at + 4] | (b[at + 5] << 8) | (b[at + 6] << 16)) + b[at + 7] * 0x1000000;
      if (hi >= 0x200000) throw new ZipError('a size or offset in the archive is impossibly large');
      return hi * 0x100000000 + lo;
    },
    bytes: (at, n, what) => (need(at, n, what), b.subarray(at, at + n)),
  };
}

// The end-of-central-directory record (and its Zip64 form): where the directory is and how many
// entries it lists.
function directory(b) {
  const r = reader(b);
  let end = -1;
  for (let at = b.length - 22; at >= Math.max(0, b.length - 22 - 0xffff); at--) {
    if (b[at] === 0x50 && b[at + 1] === 0x4b && b[at + 2] === 5 && b[at + 3] === 6) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new ZipError('it is not a complete zip archive (its central directory was not found; the file may be cut short)');
  if (r.u16(end + 4) !== 0 || r.u16(end + 6) !== 0) throw new ZipError('it is one part of a multi-volume archive, which the page does not read');
  let count = r.u16(end + 10);
  let size = r.u32(end + 12);
  let offset = r.u32(end + 16);
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    const loc = end - 20;
    if (loc >= 0 && r.u32(loc) === SIG_LOCATOR64) {
      const at = r.u64(loc + 8, 'the Zip64 locator');
      if (r.u32(at, 'the Zip64 end record') !== SIG_END64) throw new ZipError('its Zip64 end record is missing');
      count = r.u64(at + 32, 'the Zip64 end record');
      size = r.u64(at + 40, 'the Zip64 end record');
      offset = r.u64(at + 48, 'the Zip64 end record');
    }
  }
  if (offset + size > b.length) throw new ZipError('its central directory lies past the end of the file (the file may be cut short)');
  return { count, offset, size, end };
}

// The entries of the central directory, up to `max`.
function entries(b, dir, max) {
  const r = reader(b);
  const out = [];
  const names = new TextDecoder('utf-8');
  let at = dir.offset;
  for (let i = 0; i < Math.min(dir.count, max); i++) {
    if (r.u32(at, 'the central directory') !== SIG_CENTRAL) throw new ZipError(`its central directory is damaged at entry ${i + 1}`);
    const flags = r.u16(at + 8);
    const method = r.u16(at + 10);
    const crc = r.u32(at + 16);
    let csize = r.u32(at + 20);
    let usize = r.u32(at + 24);
    const nlen = r.u16(at + 28);
    const xlen = r.u16(at + 30);
    const clen = r.u16(at + 32);
    let local = r.u32(at + 42);
    const name = names.decode(r.bytes(at + 46, nlen, 'an entry name'));
    // Zip64 extra field: the 64-bit values of the fields that are all ones, in this order.
    const extra = r.bytes(at + 46 + nlen, xlen, 'an extra field');
    for (let x = 0; x + 4 <= extra.length; ) {
      const id = extra[x] | (extra[x + 1] << 8);
      const len = extra[x + 2] | (extra[x + 3] << 8);
      if (id === 0x0001) {
        const z = reader(extra.subarray(x + 4, x + 4 + len));
        let p = 0;
        if (usize === 0xffffffff) (usize = z.u64(p, 'a Zip64 field')), (p += 8);
        if (csize === 0xffffffff) (csize = z.u64(p, 'a Zip64 field')), (p += 8);
        if (local === 0xffffffff) (local = z.u64(p, 'a Zip64 field')), (p += 8);
      }
      x += 4 + len;
    }
    out.push({ name, flags, method, crc, csize, usize, local });
    at += 46 + nlen + xlen + clen;
  }
  return out;
}

// A path inside the archive as an input path: forward slashes, no leading slash, no "." or ".."
// parts (the name only labels the file; nothing is written anywhere).
function cleanPath(name) {
  return name
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p !== '' && p !== '.' && p !== '..')
    .join('/');
}

const METHODS = { 1: 'Shrink', 6: 'Implode', 9: 'Deflate64', 12: 'bzip2', 14: 'LZMA', 93: 'Zstandard', 95: 'XZ', 98: 'PPMd' };

// The data of one entry, decompressed, at most `budget` bytes; throws ZipError with the reason.
function extract(b, e, budget) {
  const r = reader(b);
  if (e.flags & 1 || e.method === 99) throw new ZipError('it is encrypted (password-protected); add it unencrypted');
  if (e.method !== 0 && e.method !== 8) {
    throw new ZipError(`it is compressed with ${METHODS[e.method] ?? `method ${e.method}`}, which the page does not read; re-create the archive with the usual Deflate compression`);
  }
  if (e.usize > budget) throw new ZipError(`it expands to ${mib(e.usize)}, past the ${mib(LIMITS.bytes)} read from one archive`);
  if (r.u32(e.local, 'a local header') !== SIG_LOCAL) throw new ZipError('its local header is missing (the archive is damaged)');
  const start = e.local + 30 + r.u16(e.local + 26) + r.u16(e.local + 28);
  const data = r.bytes(start, e.csize, 'its data');
  const chunks = [];
  let total = 0;
  if (e.method === 0) {
    chunks.push(data);
    total = data.length;
  } else {
    let failure = null;
    const inf = new Inflate((chunk) => {
      total += chunk.length;
      if (total > budget) failure = `it expands to more than ${mib(budget)}, past the ${mib(LIMITS.bytes)} read from one archive (a "zip bomb"?)`;
      else chunks.push(chunk);
    });
    try {
      for (let p = 0; p < data.length && !failure; p += CHUNK) inf.push(data.subarray(p, p + CHUNK), p + CHUNK >= data.length);
      if (data.length === 0) inf.push(new Uint8Array(0), true);
    } catch (err) {
      throw new ZipError(`its compressed data is damaged (${err && err.message ? err.message : err})`);
    }
    if (failure) throw new ZipError(failure);
  }
  if (total !== e.usize) throw new ZipError(`it holds ${total} bytes where the archive says ${e.usize} (the archive is damaged)`);
  if (crc32(chunks) !== e.crc) throw new ZipError('its checksum does not match (the archive is damaged)');
  if (chunks.length === 1) return chunks[0].slice();
  const out = new Uint8Array(total);
  let p = 0;
  for (const c of chunks) out.set(c, p), (p += c.length);
  return out;
}

/**
 * The files of a zip archive: `{files: [{name, bytes}], problems: [{name, message}]}`. A problem
 * names the entry (`archive.zip/inner/path`) or the archive itself when nothing could be read.
 * Folders, macOS metadata (`__MACOSX/`, `._name`) and nothing else are left out silently.
 */
export function readZip(input, archive = 'archive.zip', limits = LIMITS) {
  const b = input instanceof Uint8Array ? input : new Uint8Array(input);
  const files = [];
  const problems = [];
  let dir;
  let list;
  try {
    dir = directory(b);
    list = entries(b, dir, limits.entries);
  } catch (err) {
    if (!(err instanceof ZipError)) throw err;
    problems.push({ name: archive, message: `${archive} could not be opened: ${err.message}.` });
    return { files, problems };
  }
  let budget = limits.bytes;
  const seen = new Set();
  for (const e of list) {
    const path = cleanPath(e.name);
    const label = `${archive}/${path || e.name}`;
    if (e.name.endsWith('/') || path === '') continue;
    if (path.startsWith('__MACOSX/') || path.split('/').pop().startsWith('._')) continue;
    if (seen.has(path)) {
      problems.push({ name: label, message: 'Not read: the archive holds this path twice; the first one is used.' });
      continue;
    }
    seen.add(path);
    try {
      const bytes = extract(b, e, budget);
      if (isZip(bytes)) throw new ZipError('it is a zip archive inside the archive; add its files directly');
      budget -= bytes.length;
      files.push({ name: path, bytes });
    } catch (err) {
      if (!(err instanceof ZipError)) throw err;
      problems.push({ name: label, message: `Not read: ${err.message}.` });
    }
  }
  if (dir.count > list.length) {
    problems.push({
      name: archive,
      message: `Only the first ${limits.entries} of its ${dir.count} entries were read; split the archive to read the rest.`,
    });
  }
  return { files, problems };
}
