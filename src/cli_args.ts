/**
 * The command lines of `npm start` (src/main.ts) and `npm run translate` (src/translate_cli.ts), parsed and
 * validated by commander before any work starts: a bad value (`--epochs 0`, `--epochs abc`, an unknown model or
 * sub-command, a missing corpus file) prints `error: <what and why>` and the usage hint, without a stack trace,
 * and the process exits with status 2 (a usage error; 1 stays for failures while running, see cli_error.ts).
 */
import { statSync } from 'node:fs';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { TRANSLATION_MODELS, type TranslationModelName } from './experiments/translate.js';
import type { Backend } from './runtime/engine.js';

/** Exit status of a command line that does not parse or validate. */
export const USAGE_EXIT_CODE = 2;

export const MAIN_COMMANDS = ['all', 'seed', 'attention', 'translate'] as const;
export type MainCommand = (typeof MAIN_COMMANDS)[number];

/** `npm start`'s options, validated. */
export interface MainArgs {
  command: MainCommand;
  device: Backend;
  seed: number;
  out: string;
  /** Train the seed models again on the other backend and compare (`--no-cpu-check` turns it off). */
  cpuCheck: boolean;
  /** Epochs of every translation model; undefined: each model's d2l setting. */
  epochs?: number;
  models: TranslationModelName[];
  /** d2l's num_examples; Infinity for `all`. */
  numExamples: number;
  validation: number;
  /** fra.txt-style corpus for the translation models; undefined: the shared corpus, else the download. */
  corpus?: string;
  /** Overwrite checkpoints already in `<out>/checkpoints/`. */
  force: boolean;
}

/** `npm run translate`'s options, validated. */
export interface TranslateArgs {
  checkpoint: string;
  device: Backend;
  attention: boolean;
  sentences: string[];
}

/** Options of the parsers: where usage and errors go (tests capture them), and whether to exit on an error. */
export interface ParseOptions {
  writeOut?: (s: string) => void;
  writeErr?: (s: string) => void;
}

const DEVICES = ['webgpu', 'cpu'] as const;

/** An integer ≥ `min` written as plain digits (no `1e3`, `0x10`, `2.0` or blanks, which Number() would take). */
function integer(min: number): (value: string) => number {
  return (value) => {
    const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min)
      throw new InvalidArgumentError(`Expected a whole number ≥ ${min}, got "${value}".`);
    return n;
  };
}

function numExamples(value: string): number {
  if (value === 'all') return Infinity;
  try {
    return integer(1)(value);
  } catch {
    throw new InvalidArgumentError(`Expected a whole number ≥ 1 or "all", got "${value}".`);
  }
}

function fraction(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError(`Expected a fraction in [0, 1), got "${value}".`);
  return n;
}

function modelList(value: string): TranslationModelName[] {
  const names = value.split(',').map((s) => s.trim());
  const known = Object.keys(TRANSLATION_MODELS);
  for (const name of names)
    if (!known.includes(name))
      throw new InvalidArgumentError(
        `Unknown model "${name}"; expected a comma-separated list of ${known.join(', ')}.`,
      );
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  // The second run would overwrite the first one's checkpoint and summary entry.
  if (repeated) throw new InvalidArgumentError(`"${repeated}" is listed twice.`);
  return names as TranslationModelName[];
}

function existing(kind: 'file' | 'directory'): (value: string) => string {
  return (value) => {
    let ok = false;
    try {
      const s = statSync(value);
      ok = kind === 'file' ? s.isFile() : s.isDirectory();
    } catch {
      // ok stays false: missing or unreadable.
    }
    if (!ok) throw new InvalidArgumentError(`No ${kind} at "${value}".`);
    return value;
  };
}

/** Commander set up to throw instead of exiting, so that one place ({@link parseOrExit}) decides the status. */
function program(name: string, options: ParseOptions): Command {
  return new Command(name)
    .exitOverride()
    .configureOutput({
      ...(options.writeOut && { writeOut: options.writeOut }),
      ...(options.writeErr && { writeErr: options.writeErr }),
    })
    .showHelpAfterError('(run with --help for usage)')
    .allowExcessArguments(false)
    .option('--debug', 'print the stack trace of an error');
}

/** Options that only the translation models use: given to `seed` or `attention` they would be ignored. */
const TRANSLATION_ONLY = ['epochs', 'models', 'numExamples', 'validation', 'corpus', 'force'] as const;

/**
 * Parses `npm start`'s arguments (without node and the script).
 * @throws CommanderError on a usage error, after writing `error: …` through `writeErr`; also for `--help`
 *   (exitCode 0), after writing the help.
 */
export function parseMainArgs(argv: readonly string[], options: ParseOptions = {}): MainArgs {
  const cmd = program('npm start --', options)
    .description('Trains the models of the project on WebGPU and writes plots, checkpoints and summary.json.')
    .addArgument(new Argument('[command]', 'what to run').choices(MAIN_COMMANDS).default('all'))
    .addOption(new Option('--device <backend>', 'engine').choices(DEVICES).default('webgpu'))
    .option('--seed <n>', 'random seed (initialisation, data, dropout)', integer(0), 0)
    .option('--out <dir>', 'folder of the run: plots, checkpoints, summary.json', 'results')
    .option('--no-cpu-check', 'seed: skip the run on the other backend')
    .option('--epochs <n>', "translate: epochs per model (default: each model's d2l setting)", integer(1))
    .addOption(
      new Option(
        '--models <list>',
        `translate: comma-separated, of ${Object.keys(TRANSLATION_MODELS).join(', ')}`,
      )
        .argParser(modelList)
        .default(['bahdanau', 'transformer'], 'bahdanau,transformer'),
    )
    .option('--num-examples <n>', 'translate: d2l\'s num_examples, or "all"', numExamples, 600)
    .option('--validation <fraction>', 'translate: fraction of pairs held out, in [0, 1)', fraction, 0)
    .option(
      '--corpus <file>',
      'translate: English<TAB>French lines (default: ../shared/data/fra-eng/fra.txt, else downloaded)',
      existing('file'),
    )
    .option('--force', 'translate: overwrite checkpoints already in <out>/checkpoints/');
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts();
  const command = (cmd.processedArgs[0] ?? 'all') as MainCommand;
  if (command === 'seed' || command === 'attention') {
    const given = TRANSLATION_ONLY.filter((k) => cmd.getOptionValueSource(k) === 'cli');
    if (given.length)
      cmd.error(
        `error: ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} ` +
          `only applies to the translation models (the translate or all command), not to ${command}.`,
        { exitCode: USAGE_EXIT_CODE },
      );
  }
  return {
    command,
    device: o.device,
    seed: o.seed,
    out: o.out,
    cpuCheck: o.cpuCheck,
    epochs: o.epochs,
    models: o.models,
    numExamples: o.numExamples,
    validation: o.validation,
    corpus: o.corpus,
    force: o.force ?? false,
  };
}

/**
 * Parses `npm run translate`'s arguments (without node and the script).
 * @throws CommanderError as {@link parseMainArgs}.
 */
export function parseTranslateArgs(argv: readonly string[], options: ParseOptions = {}): TranslateArgs {
  const cmd = program('npm run translate --', options)
    .description('Translates English sentences with a saved checkpoint (greedy decoding).')
    .argument('<sentences...>', 'English sentences, preprocessed as the corpus was')
    .option(
      '--checkpoint <dir>',
      'checkpoint folder (npm start -- translate writes them)',
      existing('directory'),
      'results/checkpoints/bahdanau',
    )
    .addOption(new Option('--device <backend>', 'engine').choices(DEVICES).default('webgpu'))
    .option('--attention', 'print the attention weights of every emitted token');
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts();
  // The default checkpoint is not passed through the parser: check it as well.
  if (cmd.getOptionValueSource('checkpoint') === 'default') {
    try {
      existing('directory')(o.checkpoint);
    } catch {
      cmd.error(
        `error: no checkpoint at "${o.checkpoint}": train one with npm start -- translate, or pass --checkpoint DIR.`,
        { exitCode: USAGE_EXIT_CODE },
      );
    }
  }
  return {
    checkpoint: o.checkpoint,
    device: o.device,
    attention: o.attention ?? false,
    sentences: cmd.processedArgs[0] as string[],
  };
}

/**
 * Runs a parser for an entry point: on a usage error (already printed) exits with {@link USAGE_EXIT_CODE}, after
 * `--help` with 0.
 */
export function parseOrExit<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    process.exit(e.exitCode === 0 ? 0 : USAGE_EXIT_CODE);
  }
}
