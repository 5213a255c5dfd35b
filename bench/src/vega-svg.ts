/**
 * A vega-lite spec rendered headless to an SVG document (vega's View without a renderer:
 * no canvas, no native code), as every study's plot is.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** `quiet`: vega-lite's warnings (e.g. its optimiser's pass limit on layered charts) are not printed. */
export async function renderVegaLiteSvg(spec: TopLevelSpec, quiet = false): Promise<string> {
  const compiled = compile(spec, quiet ? { logger: vega.logger(vega.Error) } : {}).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
