/**
 * Finds the English-French corpus, downloading it when it is nowhere on disk, as d2l's
 * `download_extract('fra-eng')` (d2l 0.17 §9.5, `DATA_HUB['fra-eng']`). Node only.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_FRA_TXT } from './fra_eng_file.js';

/** d2l's `DATA_URL + 'fra-eng.zip'`. */
export const FRA_ENG_URL = 'http://d2l-data.s3-accelerate.amazonaws.com/fra-eng.zip';
/** d2l's `DATA_HUB['fra-eng']` SHA-1 of fra-eng.zip. */
export const FRA_ENG_ZIP_SHA1 = '94646ad1522d915e7b0f9296181140edcf86a4f5';
/** SHA-1 of fra.txt itself (167,130 lines, release of 2019-04-07), for a plain-text URL. */
export const FRA_TXT_SHA1 = 'c43f99dce27311d3afd4d3e0716848194cfcc103';

/** Where fra.txt sits inside d2l's zip (d2l reads `root + '/fra-eng/fra.txt'`). */
const ZIP_ENTRY = 'fra-eng/fra.txt';

/** Options of {@link ensureFraEng}. */
export interface EnsureFraEngOptions {
  /** Download cache; fra.txt is kept at `<cacheDir>/fra-eng/fra.txt`. */
  cacheDir: string;
  /** What to download: a `.zip` holding `fra-eng/fra.txt` (default, d2l's), or fra.txt itself. */
  url?: string;
  /** Expected SHA-1 (hex) of the downloaded file (default d2l's, of the zip). */
  sha1?: string;
  /** `fetch` or a stand-in (default the global fetch). */
  fetchImpl?: typeof fetch;
  /** Checked before the cache (default `../shared/data/fra-eng/fra.txt`); null skips it. */
  sharedPath?: string | URL | null;
  /** Give up on the download after this many milliseconds (default 120 000). */
  timeoutMs?: number;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** SHA-1 of bytes, lowercase hex, as d2l's `download` checks with hashlib.sha1. */
export function sha1Hex(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/**
 * The bytes of `fra-eng/fra.txt` (or else the only `*fra.txt` entry) of a zip archive.
 * yauzl is loaded on use: it is needed only for the zip download, and it is not yet a
 * declared dependency of this package (it comes with puppeteer-core's extract-zip).
 * @throws Error if yauzl is missing, the archive is unreadable, or it holds no fra.txt.
 */
async function extractFraTxt(zip: Buffer, url: string): Promise<Buffer> {
  let yauzl: typeof import('yauzl');
  try {
    yauzl = await import('yauzl');
  } catch (cause) {
    throw new Error(
      `ensureFraEng: reading ${url} needs the npm package yauzl; or pass the URL of fra.txt itself`,
      {
        cause,
      },
    );
  }
  const fromBuffer = yauzl.fromBuffer ?? (yauzl as unknown as { default: typeof yauzl }).default.fromBuffer;
  return new Promise((resolve, reject) => {
    fromBuffer(zip, { lazyEntries: true }, (err, zipfile) => {
      if (err) return reject(new Error(`ensureFraEng: ${url} is not a readable zip: ${err.message}`));
      let found = false;
      zipfile.on('error', reject);
      zipfile.on('end', () => {
        if (!found) reject(new Error(`ensureFraEng: ${url} holds no ${ZIP_ENTRY}`));
      });
      zipfile.on('entry', (entry: import('yauzl').Entry) => {
        if (
          entry.fileName !== ZIP_ENTRY &&
          !entry.fileName.endsWith('/fra.txt') &&
          entry.fileName !== 'fra.txt'
        ) {
          zipfile.readEntry();
          return;
        }
        found = true;
        zipfile.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            zipfile.close();
            resolve(Buffer.concat(chunks));
          });
        });
      });
      zipfile.readEntry();
    });
  });
}

/**
 * Path of a local fra.txt: the shared copy beside the checkout if present, else the cached
 * download, else downloads `url`, checks its SHA-1, extracts fra.txt when it is a zip, and
 * caches it (written to a temporary name, then renamed, so a cut download leaves no file).
 * @returns the absolute path of fra.txt.
 * @throws Error when downloading fails (offline, refused, HTTP error, timeout): the message
 *   says where to put fra.txt by hand and where it comes from.
 * @throws Error naming the expected and actual hashes when the SHA-1 does not match.
 */
export async function ensureFraEng(options: EnsureFraEngOptions): Promise<string> {
  const {
    cacheDir,
    url = FRA_ENG_URL,
    sha1 = FRA_ENG_ZIP_SHA1,
    fetchImpl = fetch,
    sharedPath = SHARED_FRA_TXT,
    timeoutMs = 120_000,
  } = options;
  const shared =
    sharedPath === null ? null : sharedPath instanceof URL ? fileURLToPath(sharedPath) : sharedPath;
  if (shared !== null && (await isFile(shared))) return shared;
  const cached = resolvePath(cacheDir, 'fra-eng', 'fra.txt');
  if (await isFile(cached)) return cached;

  let body: Buffer;
  try {
    const response = await fetchImpl(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    body = Buffer.from(await response.arrayBuffer());
  } catch (cause) {
    const detail = (cause as Error).cause ? `${cause} (${(cause as Error).cause})` : String(cause);
    const places = shared === null ? cached : `${shared} (../shared/data/fra-eng/fra.txt) or ${cached}`;
    throw new Error(
      `ensureFraEng: fra.txt was not found and downloading ${url} failed: ${detail}. ` +
        `Put fra.txt at ${places}; it is ${ZIP_ENTRY} inside ${FRA_ENG_URL}.`,
      { cause },
    );
  }
  const actual = sha1Hex(body);
  if (actual !== sha1.toLowerCase()) {
    throw new Error(`ensureFraEng: SHA-1 mismatch for ${url}: expected ${sha1}, got ${actual}`);
  }
  const text = new URL(url).pathname.endsWith('.zip') ? await extractFraTxt(body, url) : body;
  await mkdir(join(cacheDir, 'fra-eng'), { recursive: true });
  const partial = `${cached}.${process.pid}.${Date.now()}.part`;
  await writeFile(partial, text);
  await rename(partial, cached);
  return cached;
}
