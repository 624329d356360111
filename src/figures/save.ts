/**
 * Saving figures for slides: `<dir>/<name>.svg` and `<dir>/<name>.png`
 * (1600×900), titled, captioned and stamped with provenance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossCurve } from "./charts.ts";
 * import { saveFigure } from "./save.ts";
 * const dir = await Deno.makeTempDir();
 * const out = await saveFigure(lossCurve([{ name: "ae", loss: [1, 0.5] }]), dir, "loss", { title: "Loss" });
 * assert.ok(out.png.endsWith("loss.png"));
 * assert.ok(out.svg.endsWith("loss.svg"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Figure, type FrameText, OUTPUT_WIDTH } from "./figure.ts";
import { provenance as makeProvenance } from "./provenance.ts";

/**
 * Where notebooks and `nadir figures` save slide figures: `$NADIR_FIGURES_DIR`
 * (set by `nadir report --out DIR` to DIR/figures) or `reports/figures/`.
 */
export function figuresDir(): string {
  return Deno.env.get("NADIR_FIGURES_DIR") ||
    fileURLToPath(new URL("../../reports/figures", import.meta.url));
}

/** Paths written by {@link saveFigure}. */
export interface SavedFigure {
  svg: string;
  png: string;
}

/** Figure names become file names: letters, digits, dot, dash and underscore only. */
export function checkFigureName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new RangeError(
      `figure name must be letters, digits, ".", "-" or "_" (a file name), found "${name}"`,
    );
  }
  return name;
}

/**
 * Writes `fig` as SVG and PNG (1600×900) into `dir` (created if missing).
 * Texts given here override the figure's own; without `provenance` the git
 * sha, date and version are filled in (no data sha — pass `provenance` from
 * `provenance({ dataFiles })` for that).
 */
export async function saveFigure(
  fig: Figure,
  dir: string,
  name: string,
  text: FrameText & { width?: number } = {},
): Promise<SavedFigure> {
  checkFigureName(name);
  const { width, ...texts } = text;
  const prov = texts.provenance ?? fig.text.provenance ?? await makeProvenance();
  const framed = fig.with({ ...texts, provenance: prov });
  await Deno.mkdir(dir, { recursive: true });
  const out = { svg: join(dir, `${name}.svg`), png: join(dir, `${name}.png`) };
  const svg = framed.toSVG({ width: width ?? OUTPUT_WIDTH });
  await Deno.writeTextFile(out.svg, svg);
  await Deno.writeFile(out.png, framed.toPNG({ width: width ?? OUTPUT_WIDTH }));
  return out;
}
