/**
 * ensureFraEng against a local HTTP server on 127.0.0.1 only: never any other address.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FRA_ENG_URL, ensureFraEng, sha1Hex } from '../src/data/download.js';

const FRA = Buffer.from('Go.\tVa !\nHi.\tSalut !\nRun!\tCours\u202f!\n', 'utf8');

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A one-entry zip (deflate), laid out per PKWARE APPNOTE §4.3: local header, data, central directory, end record. */
function zipOf(name: string, data: Buffer): Buffer {
  const packed = deflateRawSync(data);
  const nameBytes = Buffer.from(name, 'utf8');
  const fields = (h: Buffer, at: number) => {
    h.writeUInt16LE(20, at); // version needed
    h.writeUInt16LE(0, at + 2); // flags
    h.writeUInt16LE(8, at + 4); // deflate
    h.writeUInt32LE(0, at + 6); // DOS time and date
    h.writeUInt32LE(crc32(data), at + 10);
    h.writeUInt32LE(packed.length, at + 14);
    h.writeUInt32LE(data.length, at + 18);
    h.writeUInt16LE(nameBytes.length, at + 22);
  };
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  fields(local, 4);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4); // version made by
  fields(central, 6);
  central.writeUInt32LE(0, 42); // local header offset (other fields stay 0)
  const cdOffset = local.length + nameBytes.length + packed.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, nameBytes, packed, central, nameBytes, end]);
}

const ZIP = zipOf('fra-eng/fra.txt', FRA);
let server: Server;
let base: string;
let requests = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    const body = req.url === '/fra.txt' ? FRA : req.url === '/fra-eng.zip' ? ZIP : null;
    res.statusCode = body ? 200 : 404;
    res.end(body ?? 'not found');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((done) => server.close(() => done())));

let cacheDir: string;
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'fra-eng-'));
  requests = 0;
});
afterEach(() => rm(cacheDir, { recursive: true, force: true }));

const noNetwork: typeof fetch = () => Promise.reject(new Error('the network must not be used here'));

describe('ensureFraEng', () => {
  it('downloads fra.txt, checks its SHA-1 and caches it', async () => {
    const path = await ensureFraEng({
      cacheDir,
      url: `${base}/fra.txt`,
      sha1: sha1Hex(FRA),
      sharedPath: null,
    });
    expect(path).toBe(join(cacheDir, 'fra-eng', 'fra.txt'));
    expect(await readFile(path)).toEqual(FRA);
    expect(requests).toBe(1);
    // The cache answers next time, without the network.
    expect(await ensureFraEng({ cacheDir, fetchImpl: noNetwork, sharedPath: null })).toBe(path);
    expect(await readdir(join(cacheDir, 'fra-eng'))).toEqual(['fra.txt']);
  });

  it("extracts fra-eng/fra.txt from a zip, as d2l's fra-eng.zip", async () => {
    const path = await ensureFraEng({
      cacheDir,
      url: `${base}/fra-eng.zip`,
      sha1: sha1Hex(ZIP),
      sharedPath: null,
    });
    expect(await readFile(path)).toEqual(FRA);
  });

  it('rejects a SHA-1 mismatch, naming both hashes, and caches nothing', async () => {
    const wrong = '0'.repeat(40);
    await expect(
      ensureFraEng({ cacheDir, url: `${base}/fra.txt`, sha1: wrong, sharedPath: null }),
    ).rejects.toThrow(`expected ${wrong}, got ${sha1Hex(FRA)}`);
    expect(existsSync(join(cacheDir, 'fra-eng', 'fra.txt'))).toBe(false);
  });

  it('says where to put the file when the server is unreachable', async () => {
    // A port that was just free: connecting to it is refused.
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));
    const url = `http://127.0.0.1:${port}/fra-eng.zip`;
    const shared = join(cacheDir, 'no-shared', 'fra.txt');
    const attempt = ensureFraEng({ cacheDir, url, sharedPath: shared });
    await expect(attempt).rejects.toThrow(url);
    await expect(attempt).rejects.toThrow(`Put fra.txt at ${shared} (../shared/data/fra-eng/fra.txt)`);
    await expect(attempt).rejects.toThrow(join(cacheDir, 'fra-eng', 'fra.txt'));
    await expect(attempt).rejects.toThrow(FRA_ENG_URL);
  });

  it('reports an HTTP error status', async () => {
    await expect(ensureFraEng({ cacheDir, url: `${base}/missing.zip`, sharedPath: null })).rejects.toThrow(
      /HTTP 404/,
    );
  });

  it('uses ../shared/data/fra-eng/fra.txt when it is there', async () => {
    const shared = fileURLToPath(new URL('../../shared/data/fra-eng/fra.txt', import.meta.url));
    if (!existsSync(shared)) throw new Error(`fra.txt is missing at ${shared}; see ../shared/README.md`);
    expect(await ensureFraEng({ cacheDir, fetchImpl: noNetwork })).toBe(shared);
  });
});
