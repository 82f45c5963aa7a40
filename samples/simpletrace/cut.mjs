// Cuts a v4 simpletrace binary down to its first N event records, keeping the mapping records of the
// events those records use (verbatim bytes, original ids and timestamps). Usage: node cut.mjs IN N OUT
import { readFileSync, writeFileSync } from 'node:fs';
const [inPath, nStr, outPath] = process.argv.slice(2);
const b = readFileSync(inPath);
const n = Number(nStr);
const maps = new Map();
const events = [];
let p = 24;
while (p + 8 <= b.length && events.length < n) {
  const type = b.readUInt32LE(p);
  if (type === 0) {
    const end = p + 20 + b.readUInt32LE(p + 16);
    maps.set(b.readUInt32LE(p + 8), b.subarray(p, end));
    p = end;
  } else {
    const end = p + 8 + b.readUInt32LE(p + 24);
    events.push(b.subarray(p, end));
    p = end;
  }
}
const used = new Set(events.map((e) => e.readUInt32LE(8)));
const parts = [b.subarray(0, 24), ...[...maps].filter(([id]) => used.has(id)).map(([, m]) => m), ...events];
writeFileSync(outPath, Buffer.concat(parts));
console.log(`${events.length} events, ${used.size} mappings`);
