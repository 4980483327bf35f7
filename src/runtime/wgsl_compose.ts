/**
 * WGSL has no include: code several kernels share (a hash, the valid-length lookup, a workgroup reduction) lives
 * once in `shaders/lib/*.wgsl` and a kernel pulls it in with a directive comment,
 *
 *   // #import pcg from "lib/hash.wgsl"
 *
 * `composeShader` appends each imported file (and what it imports in turn, each file once) after the kernel's own
 * text. WGSL resolves module-scope names in any order, so the kernel's lines keep their numbers and the composed
 * source is plain WGSL for wgsl_reflect and the device; `locate` maps a line of it back to file:line for compile
 * errors. A lib file has no `enable` (it must open the module); a function in it may read a binding the kernel
 * declares under an agreed name (`lens`), which its file comment states. Bindings themselves go in a lib only where
 * kernel variants must have the same ones (the sdpa_* forward and backward variants).
 */

export interface SourceLine {
  /** `shaders/<kernel>.wgsl` or `shaders/lib/<file>.wgsl`. */
  file: string;
  line: number;
}

export interface ComposedShader {
  /** The kernel's text with every imported file appended. */
  code: string;
  /** The file and line that line `line` (1-based) of `code` came from. */
  locate(line: number): SourceLine;
}

const IMPORT = /^\s*\/\/\s*#import\s+(.+?)\s+from\s+"([^"]+)"\s*;?\s*$/;

/** Whether `text` declares `name` at module scope (fn, const, override, struct, alias). */
function declares(text: string, name: string): boolean {
  return new RegExp(`^\\s*(?:fn|const|override|struct|alias)\\s+${name}\\b`, 'm').test(text);
}

/**
 * Composes `shaders/<file>` with the files it imports from `libs` (keyed by their path under shaders/, such as
 * `lib/hash.wgsl`).
 * @throws Error at `shaders/<file>:line` for an import of a file that does not exist or of a name the file does
 *   not declare; Error for a lib file with an `enable` or `requires` directive.
 */
export function composeShader(
  file: string,
  text: string,
  libs: Readonly<Record<string, string>>,
): ComposedShader {
  const segments: { start: number; file: string }[] = [{ start: 1, file: `shaders/${file}` }];
  const parts = [text.replace(/\n$/, '')];
  let lines = parts[0].split('\n').length;
  const included = new Set<string>();
  const visit = (from: string, source: string) => {
    source.split('\n').forEach((line, i) => {
      const m = IMPORT.exec(line);
      if (!m) return;
      const [, names, path] = m;
      const where = `shaders/${from}:${i + 1}`;
      const lib = libs[path];
      if (lib === undefined)
        throw new Error(
          `${where}: #import from "${path}": no shaders/${path} (known: ${Object.keys(libs).join(', ')})`,
        );
      for (const name of names.split(',').map((n) => n.trim()))
        if (!declares(lib, name))
          throw new Error(`${where}: #import ${name}: shaders/${path} declares no "${name}"`);
      if (included.has(path)) return;
      included.add(path);
      if (/^\s*(enable|requires)\b/m.test(lib))
        throw new Error(
          `shaders/${path}: an enable or requires directive must open the kernel, not a lib file`,
        );
      visit(path, lib);
      const body = lib.replace(/\n$/, '');
      segments.push({ start: lines + 1, file: `shaders/${path}` });
      parts.push(body);
      lines += body.split('\n').length;
    });
  };
  visit(file, text);
  return {
    code: parts.join('\n') + '\n',
    locate(line) {
      let s = segments[0];
      for (const seg of segments) if (seg.start <= line) s = seg;
      return { file: s.file, line: line - s.start + 1 };
    },
  };
}
