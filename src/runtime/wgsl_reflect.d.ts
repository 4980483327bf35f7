// wgsl_reflect's "main" is a CommonJS build mislabelled as ESM (its package.json says "type": "module"), so Node
// cannot load it; its ES build is imported by path instead, typed by the package's own declarations.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
