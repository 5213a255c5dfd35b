// Reports non-null assertions (`x!`) whose operand's type cannot be null or
// undefined: with noUncheckedIndexedAccess on, `a[i]!` says "this index is in
// range"; on a type that is never undefined the `!` says nothing. `--fix` removes them.
// Needs the tree built (`tsc -b`): cross-package imports resolve to dist/*.d.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript5';

const root = process.argv[2] ?? '.';
const fix = process.argv.includes('--fix');
const top = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
const projects = top.references.map((r) => resolve(root, r.path, 'tsconfig.json'));

const MAYBE =
  ts.TypeFlags.Undefined |
  ts.TypeFlags.Null |
  ts.TypeFlags.Void |
  ts.TypeFlags.Any |
  ts.TypeFlags.Unknown |
  ts.TypeFlags.TypeParameter |
  ts.TypeFlags.IndexedAccess |
  ts.TypeFlags.Conditional |
  ts.TypeFlags.Substitution;

function canBeNullish(type) {
  if (type.isUnion()) return type.types.some(canBeNullish);
  return (type.flags & MAYBE) !== 0;
}

let found = 0;
for (const project of projects) {
  const cfg = ts.getParsedCommandLineOfConfigFile(
    project,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!cfg) continue;
  const program = ts.createProgram({
    rootNames: cfg.fileNames,
    options: { ...cfg.options, noEmit: true, composite: false, declaration: false, declarationMap: false },
  });
  const checker = program.getTypeChecker();
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || !cfg.fileNames.includes(sf.fileName)) continue;
    const cuts = [];
    const visit = (node) => {
      if (ts.isNonNullExpression(node)) {
        const type = checker.getTypeAtLocation(node.expression);
        if (!canBeNullish(type)) {
          const { line, character } = sf.getLineAndCharacterOfPosition(node.end - 1);
          console.log(`${sf.fileName}:${line + 1}:${character + 1}: unnecessary non-null assertion`);
          cuts.push(node.end - 1);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
    found += cuts.length;
    if (fix && cuts.length) {
      let text = sf.text;
      for (const at of cuts.sort((a, b) => b - a)) if (text[at] === '!') text = text.slice(0, at) + text.slice(at + 1);
      writeFileSync(sf.fileName, text);
    }
  }
}
console.log(`${found} unnecessary non-null assertion(s)`);
process.exitCode = found && !fix ? 1 : 0;
