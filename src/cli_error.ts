/**
 * How the command-line entry points end on an error: `error: <message>` (and one `caused by:` line per cause), not
 * a stack trace, with exit code 1. `--debug` (or the environment variable WEBGPU_ATTENTION_DEBUG=1) prints the
 * stack as well.
 */

/** Whether the user asked for stack traces. */
export function debugRequested(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--debug') || /^(1|true|yes)$/i.test(process.env.WEBGPU_ATTENTION_DEBUG ?? '');
}

/** The lines printed for `e`: `error: <message>` and one `caused by:` line per cause. */
export function formatCliError(e: unknown): string {
  const lines: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && depth < 8; depth++) {
    const msg = cur instanceof Error ? cur.message : String(cur);
    lines.push(`${depth === 0 ? 'error' : 'caused by'}: ${msg}`);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return lines.join('\n');
}

function report(e: unknown): never {
  if (debugRequested()) console.error(e);
  else console.error(`${formatCliError(e)}\n(run again with --debug for the stack trace)`);
  process.exit(1);
}

/**
 * Makes an entry point end with {@link formatCliError} instead of a stack trace. Call it first thing: an error thrown
 * by the script's top-level code (a rejected top-level await under vite-node or Node) reaches these handlers.
 */
export function installCliErrorHandlers(): void {
  process.on('uncaughtException', report);
  process.on('unhandledRejection', report);
}
