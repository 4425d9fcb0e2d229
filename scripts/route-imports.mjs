// bin/tctl compiles the CLI bundle with node:vm, where import() needs a flag in Node 20. So every
// import() call left in the bundle becomes a call of a function bin/tctl passes in, which imports
// as the bundle would have. The calls are found by parsing, not by a list of names: whatever src
// imports dynamically later is covered too, and anything that cannot be routed fails the build.
import ts from 'typescript';

/** source with every `import(...)` call made a call of fn; throws on what cannot run under node:vm. */
export function routeDynamicImports(source, fn, name = 'dist/bundle/tctl.cjs') {
  const calls = [];
  const meta = [];
  let file;
  const visit = (node) => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) calls.push(node.expression.getStart(file));
    if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) meta.push(node.getStart(file));
    ts.forEachChild(node, visit);
  };
  const parse = (text) => {
    file = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
    if (file.parseDiagnostics.length > 0) throw new Error(`${name} does not parse: ${file.parseDiagnostics[0].messageText}`);
    calls.length = 0;
    meta.length = 0;
    visit(file);
  };
  parse(source);
  if (meta.length > 0) throw new Error(`${name} uses import.meta (at offset ${meta[0]}), which a CommonJS bundle has not`);
  let out = source;
  for (const at of [...calls].reverse()) {
    if (out.slice(at, at + 6) !== 'import') throw new Error(`${name}: no import() at offset ${at}`);
    out = out.slice(0, at) + fn + out.slice(at + 6);
  }
  // The rewrite must leave no import() behind.
  parse(out);
  if (calls.length > 0) throw new Error(`${name}: an import() call is left after routing`);
  return out;
}
