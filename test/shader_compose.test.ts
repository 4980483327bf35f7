/**
 * Shared WGSL (shaders/lib/): `// #import` composition, compile errors mapped back to the lib file and line, and
 * every kernel composing and reflecting.
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '../src/runtime/kernel.js';
import { shaderLibs, shaderSources } from '../src/runtime/shaders.js';
import { composeShader } from '../src/runtime/wgsl_compose.js';
import { useEngine } from './engine_fixture.js';

const libs = {
  'lib/twice.wgsl': '// doubles\nfn twice(x: f32) -> f32 {\n  return 2.0 * x;\n}\n',
  'lib/quad.wgsl':
    '// #import twice from "lib/twice.wgsl"\nfn quad(x: f32) -> f32 {\n  return twice(twice(x));\n}\n',
  'lib/broken.wgsl': '// a type error on line 3\nfn broken() -> f32 {\n  let x: f32 = 1u;\n  return x;\n}\n',
};
const kernel = (imports: string) =>
  `// test kernel\n${imports}\n@compute @workgroup_size(1)\nfn main() {\n  _ = quad(1.0);\n}\n`;

describe('composition', () => {
  it('appends each imported file once, after the kernel, and maps lines back', () => {
    const c = composeShader(
      'k.wgsl',
      kernel('// #import quad from "lib/quad.wgsl"\n// #import twice from "lib/twice.wgsl"'),
      libs,
    );
    expect(c.code.match(/fn twice/g)).toHaveLength(1);
    expect(c.code.match(/fn quad/g)).toHaveLength(1);
    const lines = c.code.split('\n');
    const at = (text: string) => c.locate(lines.findIndex((l) => l.includes(text)) + 1);
    expect(at('_ = quad(1.0)')).toEqual({ file: 'shaders/k.wgsl', line: 6 });
    expect(at('return 2.0 * x')).toEqual({ file: 'shaders/lib/twice.wgsl', line: 3 });
    expect(at('return twice(twice(x))')).toEqual({ file: 'shaders/lib/quad.wgsl', line: 3 });
  });

  it('names the file and line of a bad import', () => {
    expect(() => composeShader('k.wgsl', kernel('// #import quad from "lib/nope.wgsl"'), libs)).toThrow(
      /^shaders\/k\.wgsl:2: #import from "lib\/nope\.wgsl": no shaders\/lib\/nope\.wgsl/,
    );
    expect(() => composeShader('k.wgsl', kernel('// #import cube from "lib/quad.wgsl"'), libs)).toThrow(
      'shaders/k.wgsl:2: #import cube: shaders/lib/quad.wgsl declares no "cube"',
    );
  });

  it('each kernel holds at most one copy of a shared function', () => {
    expect(Object.keys(shaderLibs)).toEqual(expect.arrayContaining(['lib/hash.wgsl', 'lib/valid_lens.wgsl']));
    for (const [name, code] of Object.entries(shaderSources))
      for (const fn of ['pcg', 'valid_len'])
        expect((code.match(new RegExp(`^fn ${fn}\\(`, 'gm')) ?? []).length, name).toBeLessThan(2);
  });
});

describe('on the device', () => {
  const engine = useEngine();

  it('every kernel reflects its composed source', () => {
    const supported = new Set(engine().supportedKernels());
    for (const name of Object.keys(shaderSources).filter((n) => supported.has(n)))
      expect(engine().kernel(name).bindings.length, name).toBeGreaterThan(0);
  });

  it('a compile error in an imported file names that file and line', async () => {
    const src =
      '// #import broken from "lib/broken.wgsl"\n@compute @workgroup_size(1)\nfn main() {\n  _ = broken();\n}\n';
    const k = new Kernel('uses_broken', engine().device, composeShader('uses_broken.wgsl', src, libs));
    const msg = await k.diagnostics();
    expect(msg).toMatch(
      /^shaders\/lib\/broken\.wgsl:3:\d+: error: .*\(imported by shaders\/uses_broken\.wgsl\)/,
    );
    expect(msg).toContain('  3 |   let x: f32 = 1u;');
    // The device also raised it as a validation error, which the engine reports at its next sync.
    await expect(engine().sync()).rejects.toThrow(/WebGPU validation error/);
    await engine().sync();
  });
});
