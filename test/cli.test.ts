/**
 * The command lines (src/cli_args.ts, src/main.ts, src/translate_cli.ts): bad arguments are rejected with a
 * message and status 2 before any work starts (no training, no stack trace, no run folder written); a run never
 * overwrites checkpoints unless `--force` says so; `--corpus` trains on the file given.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { USAGE_EXIT_CODE, parseMainArgs, parseTranslateArgs, type ParseOptions } from '../src/cli_args.js';
import { runTranslation } from '../src/experiments/translate.js';
import { useEngine } from './engine_fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The parser's error output, and what it throws. */
function reject(parse: (o: ParseOptions) => unknown): { err: string; error: CommanderError } {
  let err = '';
  try {
    parse({ writeErr: (s) => (err += s), writeOut: () => {} });
  } catch (error) {
    expect(error).toBeInstanceOf(CommanderError);
    return { err, error: error as CommanderError };
  }
  throw new Error('the arguments were accepted');
}

describe('npm start arguments', () => {
  it('defaults as before, and takes valid values', () => {
    expect(parseMainArgs([])).toEqual({
      command: 'all',
      device: 'webgpu',
      seed: 0,
      out: 'results',
      cpuCheck: true,
      epochs: undefined,
      models: ['bahdanau', 'transformer'],
      numExamples: 600,
      validation: 0,
      corpus: undefined,
      force: false,
    });
    const corpus = join(tmp, 'given.txt');
    writeFileSync(corpus, 'Go.\tVa !\n');
    expect(
      parseMainArgs([
        'translate',
        '--epochs',
        '3',
        '--models',
        'bahdanau_lstm',
        '--num-examples',
        'all',
        '--validation',
        '0.1',
        '--corpus',
        corpus,
        '--force',
        '--device',
        'cpu',
        '--seed',
        '7',
        '--out',
        'elsewhere',
      ]),
    ).toMatchObject({
      command: 'translate',
      epochs: 3,
      models: ['bahdanau_lstm'],
      numExamples: Infinity,
      validation: 0.1,
      corpus,
      force: true,
      device: 'cpu',
      seed: 7,
      out: 'elsewhere',
    });
    expect(parseMainArgs(['seed', '--no-cpu-check']).cpuCheck).toBe(false);
  });

  it.each([
    [['--epochs', '0'], /'--epochs <n>' argument '0' is invalid\. Expected a whole number ≥ 1/],
    [['--epochs', 'abc'], /'--epochs <n>' argument 'abc' is invalid/],
    [['--epochs', '-3'], /'--epochs <n>' argument '-3' is invalid/],
    [['--epochs', '2.5'], /'--epochs <n>' argument '2.5' is invalid/],
    [['--epochs', '1e3'], /'--epochs <n>' argument '1e3' is invalid/],
    [['--epochs'], /option '--epochs <n>' argument missing/],
    [['--seed', 'x'], /'--seed <n>' argument 'x' is invalid/],
    [['--num-examples', '0'], /Expected a whole number ≥ 1 or "all"/],
    [['--validation', '1'], /Expected a fraction in \[0, 1\), got "1"/],
    [['--validation', ''], /Expected a fraction in \[0, 1\)/],
    [['--models', 'bahdanau,gpt'], /Unknown model "gpt"; expected a comma-separated list of bahdanau, /],
    [['--models', 'bahdanau,bahdanau'], /"bahdanau" is listed twice/],
    [['--device', 'gpu'], /Allowed choices are webgpu, cpu/],
    [['--corpus', '/no/such/fra.txt'], /No file at "\/no\/such\/fra.txt"/],
    [['bogus'], /value 'bogus' is invalid for argument 'command'\. Allowed choices are all, seed, attention/],
    [['seed', 'attention'], /too many arguments/],
    [['--epoch', '3'], /unknown option '--epoch'/],
    [['seed', '--epochs', '3'], /--epochs only applies to the translation models .* not to seed/],
    [['attention', '--corpus', '.', '--force'], /No file at "\."/],
    [['attention', '--force'], /--force only applies to the translation models/],
  ])('rejects %j', (argv, message) => {
    const { err, error } = reject((o) => parseMainArgs(argv, o));
    expect(err).toMatch(/^error: /);
    expect(err).toMatch(message);
    expect(err).toMatch(/run with --help for usage/);
    expect(error.exitCode).not.toBe(0);
  });
});

describe('npm run translate arguments', () => {
  it('takes sentences, a checkpoint folder and options', () => {
    expect(parseTranslateArgs(['--checkpoint', tmp, "i'm home .", 'go .', '--attention'])).toEqual({
      checkpoint: tmp,
      device: 'webgpu',
      attention: true,
      sentences: ["i'm home .", 'go .'],
    });
  });

  it.each([
    [[], /missing required argument 'sentences'/],
    [
      ['--checkpoint', join(tmp, 'none'), 'go .'],
      /'--checkpoint <dir>' argument .* is invalid\. No directory/,
    ],
    [['--device', 'tpu', 'go .'], /Allowed choices are webgpu, cpu/],
  ])('rejects %j', (argv, message) => {
    expect(reject((o) => parseTranslateArgs(argv, o)).err).toMatch(message);
  });
});

/** Runs a CLI as a user would (`npm start -- …` is `vite-node src/main.ts -- …`). */
function cli(script: string, args: string[]) {
  const started = performance.now();
  const r = spawnSync('npx', ['vite-node', script, '--', ...args], { encoding: 'utf8', timeout: 120_000 });
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    seconds: (performance.now() - started) / 1000,
  };
}

describe('the entry points', () => {
  it.each([
    ['--epochs', '0'],
    ['--epochs', 'abc'],
  ])('npm start -- translate %s %s exits with a message before any work', { timeout: 120_000 }, (...bad) => {
    const out = join(tmp, 'never');
    const r = cli('src/main.ts', ['translate', '--out', out, ...bad]);
    expect(r.status).toBe(USAGE_EXIT_CODE);
    expect(r.stderr).toMatch(new RegExp(`^error: option '--epochs <n>' argument '${bad[1]}' is invalid`));
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe(''); // nothing started: no device line, no progress
    expect(existsSync(out)).toBe(false);
  });

  it('npm run translate without a sentence says so', { timeout: 120_000 }, () => {
    const r = cli('src/translate_cli.ts', ['--checkpoint', tmp]);
    expect(r.status).toBe(USAGE_EXIT_CODE);
    expect(r.stderr).toMatch(/^error: missing required argument 'sentences'/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it(
    'refuses to overwrite a checkpoint before training; --force and --corpus train on the given file',
    { timeout: 300_000 },
    () => {
      const out = join(tmp, 'run');
      const old = join(out, 'checkpoints', 'bahdanau');
      mkdirSync(old, { recursive: true });
      writeFileSync(join(old, 'config.json'), '{"model": "bahdanau"}');
      // Ten English<TAB>French lines.
      const corpus = 'test/fixtures/pairs.txt';
      const args = ['translate', '--models', 'bahdanau', '--epochs', '1', '--device', 'cpu', '--out', out];

      const refused = cli('src/main.ts', [...args, '--corpus', corpus]);
      expect(refused.status).toBe(USAGE_EXIT_CODE);
      expect(refused.stderr).toMatch(
        /checkpoints\/bahdanau already exists: this run would overwrite it\. Pass --force/,
      );
      expect(refused.stdout).toBe('');
      expect(readFileSync(join(old, 'config.json'), 'utf8')).toBe('{"model": "bahdanau"}');

      const forced = cli('src/main.ts', [...args, '--corpus', corpus, '--force']);
      expect(forced.stderr).not.toMatch(/error/);
      expect(forced.status).toBe(0);
      expect(forced.stdout).toContain(`== bahdanau on ${corpus}`);
      expect(forced.stdout).toMatch(/bahdanau: final loss [\d.]+, \d+ tokens\/s \(10 training pairs\)/);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      expect(summary.models.seq2seq_bahdanau).toMatchObject({ corpus, train_pairs: 10, epochs: 1 });
      // fra-eng's CC-BY credit is not claimed for a corpus given with --corpus.
      expect(summary.data_credits).toBeUndefined();
      expect(JSON.parse(readFileSync(join(old, 'config.json'), 'utf8'))).toMatchObject({ model: 'bahdanau' });
      expect(existsSync(join(old, 'model.safetensors'))).toBe(true);
    },
  );

  describe('runTranslation itself', () => {
    useEngine('cpu');

    it('refuses epochs < 1 and an existing checkpoint, before reading the corpus', async () => {
      const missing = join(tmp, 'missing.txt');
      await expect(
        runTranslation({ model: 'bahdanau', outDir: tmp, epochs: 0, corpus: missing }),
      ).rejects.toThrow(RangeError);
      mkdirSync(join(tmp, 'checkpoints', 'transformer'), { recursive: true });
      await expect(runTranslation({ model: 'transformer', outDir: tmp, corpus: missing })).rejects.toThrow(
        /checkpoints\/transformer exists; pass overwrite: true/,
      );
    });
  });
});
