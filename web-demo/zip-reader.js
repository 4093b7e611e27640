// A small ZIP reader for the browser: the central directory (ZIP64 included) is read from
// the end of the Blob, and each entry is streamed with Blob.slice() + DecompressionStream
// ("deflate-raw"), so no entry and no archive is ever held whole in memory.
//
//   const entries = await listZip(file);         // [{name, method, compressedSize, size, ...}]
//   const stream = await openEntry(file, entries[0]);   // ReadableStream<Uint8Array>
//
// Supported: stored (0) and deflated (8) entries, ZIP64 sizes and offsets, UTF-8 names (and
// CP437 names as Latin-1). Not supported: encryption, multi-disk archives, other methods;
// those throw an Error naming the entry.

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

async function bytes(blob, start, end) {
  return new DataView(await blob.slice(start, end).arrayBuffer());
}

function u64(view, at) {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("ZIP offset too large");
  return Number(v);
}

const utf8 = new TextDecoder("utf-8");
const latin1 = new TextDecoder("latin1");

/** Whether the first bytes of a Blob are a ZIP signature (as the CLI decides). */
export async function looksLikeZip(blob) {
  if (/\.zip$/i.test(blob.name ?? "")) return true;
  if (blob.size < 4) return false;
  const v = await bytes(blob, 0, 4);
  const sig = v.getUint32(0, true);
  return sig === LOCAL || sig === EOCD;
}

/** Lists the entries of a ZIP Blob from its central directory. */
export async function listZip(blob) {
  const tailLen = Math.min(blob.size, 22 + 65535 + 20);
  const tailStart = blob.size - tailLen;
  const tail = await bytes(blob, tailStart, blob.size);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a ZIP archive (no end of central directory)");
  let count = tail.getUint16(eocd + 10, true);
  let cdSize = tail.getUint32(eocd + 12, true);
  let cdOffset = tail.getUint32(eocd + 16, true);
  const loc = eocd - 20;
  if (loc >= 0 && tail.getUint32(loc, true) === ZIP64_LOCATOR) {
    const at = u64(tail, loc + 8);
    const z = await bytes(blob, at, at + 56);
    if (z.getUint32(0, true) !== ZIP64_EOCD) throw new Error("bad ZIP64 end of central directory");
    count = u64(z, 32);
    cdSize = u64(z, 40);
    cdOffset = u64(z, 48);
  }
  const cd = await bytes(blob, cdOffset, cdOffset + cdSize);
  const entries = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.byteLength || cd.getUint32(p, true) !== CENTRAL) {
      throw new Error("corrupt ZIP central directory");
    }
    const flags = cd.getUint16(p + 8, true);
    const method = cd.getUint16(p + 10, true);
    let compressedSize = cd.getUint32(p + 20, true);
    let size = cd.getUint32(p + 24, true);
    const nameLen = cd.getUint16(p + 28, true);
    const extraLen = cd.getUint16(p + 30, true);
    const commentLen = cd.getUint16(p + 32, true);
    let offset = cd.getUint32(p + 42, true);
    const nameBytes = new Uint8Array(cd.buffer, cd.byteOffset + p + 46, nameLen);
    const name = (flags & 0x800 ? utf8 : latin1).decode(nameBytes);
    // ZIP64 extended information: only the fields saturated in the fixed header, in order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cd.getUint16(e, true);
      const len = cd.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) (size = u64(cd, q)), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = u64(cd, q)), (q += 8);
        if (offset === 0xffffffff) offset = u64(cd, q);
      }
      e += 4 + len;
    }
    entries.push({ name, flags, method, compressedSize, size, offset });
    p = extraEnd + commentLen;
  }
  return entries;
}

/** The uncompressed bytes of one entry, as a stream. */
export async function openEntry(blob, entry) {
  if (entry.flags & 1) throw new Error(`${entry.name}: encrypted ZIP entries are not supported`);
  const h = await bytes(blob, entry.offset, entry.offset + 30);
  if (h.getUint32(0, true) !== LOCAL) throw new Error(`${entry.name}: bad local header`);
  const start = entry.offset + 30 + h.getUint16(26, true) + h.getUint16(28, true);
  const raw = blob.slice(start, start + entry.compressedSize).stream();
  if (entry.method === 0) return raw;
  if (entry.method === 8) return raw.pipeThrough(new DecompressionStream("deflate-raw"));
  throw new Error(`${entry.name}: compression method ${entry.method} is not supported`);
}
