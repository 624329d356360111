/**
 * Where the texts of a rendered figure lie: every `<text>` line's box on the
 * canvas, from the SVG alone — translations of groups and nested `<svg>`s,
 * `x`/`y`/`dx`/`dy` (in px or em), `text-anchor`, inherited font size and
 * weight, and widths measured in the figure's font (./text.ts). The slide
 * test uses it to prove that no two labels overlap, that nothing runs off
 * the canvas, and that a legend shows every series.
 *
 * Boxes span the glyphs' ascent and descent (0.76 em above the baseline,
 * 0.24 em below), not the full line height, so lines set 1.2 em apart do not
 * count as touching. Rotated or scaled text is reported with `transformed`
 * set: its box would need the transform's geometry, and no chart of nadir's
 * draws such text today.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { overlaps, textBoxes } from "./geometry.ts";
 * const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50" font-size="10">' +
 *   '<g transform="translate(10,20)"><text>alpha</text><text x="5">beta</text></g></svg>';
 * const boxes = textBoxes(svg);
 * assert.deepEqual(boxes.map((b) => b.text), ["alpha", "beta"]);
 * assert.equal(boxes[0].x0, 10);
 * assert.equal(overlaps(boxes).length, 1); // "beta" starts inside "alpha"
 * ```
 * @module
 */
import { DOMParser } from "linkedom";
import { textWidth } from "./text.ts";

/** One line of text on the canvas (user units of the root `<svg>`). */
export interface TextBox {
  text: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  fontSize: number;
  /** Inside a legend group (`class="nadir-legend"`). */
  legend: boolean;
  /** Under a rotation, scale or matrix: the box ignores it. */
  transformed: boolean;
}

interface Ctx {
  tx: number;
  ty: number;
  fontSize: number;
  anchor: string;
  bold: boolean;
  legend: boolean;
  transformed: boolean;
}

// deno-lint-ignore no-explicit-any
type El = any;

/** The boxes of every text line of `svg`, in document order. */
export function textBoxes(svg: string): TextBox[] {
  const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
  const root = doc.documentElement as El;
  if (!root || root.tagName?.toLowerCase() !== "svg") {
    throw new Error(`textBoxes: expected an <svg> document, found <${root?.tagName ?? "nothing"}>`);
  }
  const out: TextBox[] = [];
  walk(
    root,
    { tx: 0, ty: 0, fontSize: 16, anchor: "start", bold: false, legend: false, transformed: false },
    out,
  );
  return out;
}

/** A length in px, or in em of `fontSize`; 0 when absent. Lists ("1 2 3") use their first value. */
function len(v: string | null | undefined, fontSize: number): number {
  if (!v) return 0;
  const first = v.trim().split(/[\s,]+/)[0];
  const n = parseFloat(first);
  if (!Number.isFinite(n)) return 0;
  return first.endsWith("em") ? n * fontSize : n;
}

/** Applies an element's own attributes to the inherited context. */
function enter(el: El, ctx: Ctx, isRoot: boolean): Ctx {
  const c = { ...ctx };
  const fs = el.getAttribute("font-size");
  if (fs) c.fontSize = len(fs, ctx.fontSize) || ctx.fontSize;
  const anchor = el.getAttribute("text-anchor");
  if (anchor) c.anchor = anchor;
  const weight = el.getAttribute("font-weight");
  if (weight) c.bold = weight === "bold" || Number(weight) >= 600;
  if ((el.getAttribute("class") ?? "").split(/\s+/).includes("nadir-legend")) c.legend = true;
  const tag = el.tagName.toLowerCase();
  if (tag === "svg" && !isRoot) {
    c.tx += len(el.getAttribute("x"), c.fontSize);
    c.ty += len(el.getAttribute("y"), c.fontSize);
  }
  const tr = el.getAttribute("transform");
  if (tr) {
    for (const m of tr.matchAll(/(\w+)\(([^)]*)\)/g)) {
      const args = m[2].trim().split(/[\s,]+/).map(Number);
      if (m[1] === "translate") {
        c.tx += args[0] || 0;
        c.ty += args[1] || 0;
      } else c.transformed = true;
    }
  }
  return c;
}

function walk(el: El, parent: Ctx, out: TextBox[], isRoot = true): void {
  const tag = el.tagName.toLowerCase();
  if (tag === "title" || tag === "style" || tag === "defs") return;
  // A text's own transform applies after its x/y, which translate composes with: same sum.
  const ctx = enter(el, parent, isRoot);
  if (tag === "text") {
    textLines(el, ctx, out);
    return;
  }
  for (const child of el.children ?? []) walk(child, ctx, out, false);
}

/** One box per line: the text itself, or each `<tspan>` that sets x or y (a new line). */
function textLines(el: El, ctx: Ctx, out: TextBox[]): void {
  let x = len(el.getAttribute("x"), ctx.fontSize) + len(el.getAttribute("dx"), ctx.fontSize);
  let y = len(el.getAttribute("y"), ctx.fontSize) + len(el.getAttribute("dy"), ctx.fontSize);
  const spans = [...(el.children ?? [])].filter((c: El) => c.tagName.toLowerCase() === "tspan");
  const own = [...el.childNodes].filter((n: El) => n.nodeType === 3).map((n: El) => n.textContent).join("");
  const push = (text: string, at: Ctx, px: number, py: number) => {
    if (!text.trim()) return;
    const w = textWidth(text, at.fontSize, { bold: at.bold });
    const left = at.anchor === "middle" ? px - w / 2 : at.anchor === "end" ? px - w : px;
    out.push({
      text,
      x0: at.tx + left,
      x1: at.tx + left + w,
      y0: at.ty + py - 0.76 * at.fontSize,
      y1: at.ty + py + 0.24 * at.fontSize,
      fontSize: at.fontSize,
      legend: at.legend,
      transformed: at.transformed,
    });
  };
  if (!spans.length) {
    push(own, ctx, x, y);
    return;
  }
  push(own, ctx, x, y);
  for (const s of spans) {
    const sc = enter(s, ctx, false);
    if (s.hasAttribute("x")) x = len(s.getAttribute("x"), sc.fontSize);
    if (s.hasAttribute("y")) y = len(s.getAttribute("y"), sc.fontSize);
    x += len(s.getAttribute("dx"), sc.fontSize);
    y += len(s.getAttribute("dy"), sc.fontSize);
    push(s.textContent ?? "", sc, x, y);
  }
}

/**
 * Pairs of boxes that overlap by more than `tolerance` user units in both
 * directions (transformed text is left out: its boxes are not exact).
 */
export function overlaps(boxes: readonly TextBox[], tolerance = 0.5): [TextBox, TextBox][] {
  const list = boxes.filter((b) => !b.transformed).slice().sort((a, b) => a.x0 - b.x0);
  const found: [TextBox, TextBox][] = [];
  for (let i = 0; i < list.length; i++) {
    const a = list[i];
    for (let j = i + 1; j < list.length && list[j].x0 < a.x1 - tolerance; j++) {
      const b = list[j];
      const dx = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
      const dy = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
      if (dx > tolerance && dy > tolerance) found.push([a, b]);
    }
  }
  return found;
}

/** Boxes that reach outside `[0, width] × [0, height]` by more than `tolerance`. */
export function outside(
  boxes: readonly TextBox[],
  width: number,
  height: number,
  tolerance = 0.5,
): TextBox[] {
  return boxes.filter((b) =>
    !b.transformed &&
    (b.x0 < -tolerance || b.y0 < -tolerance || b.x1 > width + tolerance || b.y1 > height + tolerance)
  );
}

/**
 * The legend's entries in order (the names beside its swatches, full names
 * where a long one is shortened), their swatch colours, and whether the
 * swatch is a dashed line (a line style — validation curves, rules — rather
 * than a series colour).
 */
export function legendEntries(svg: string): { name: string; color: string; dash: boolean }[] {
  const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
  const out: { name: string; color: string; dash: boolean }[] = [];
  for (const g of doc.querySelectorAll("g.nadir-legend") as Iterable<El>) {
    let color = "", dash = false;
    for (const el of g.children as Iterable<El>) {
      const tag = el.tagName.toLowerCase();
      if (tag === "rect") [color, dash] = [el.getAttribute("fill") ?? "", false];
      else if (tag === "line") {
        [color, dash] = [el.getAttribute("stroke") ?? "", el.hasAttribute("stroke-dasharray")];
      } else if (tag === "text") {
        const title = [...el.children].find((c: El) => c.tagName.toLowerCase() === "title");
        const name = title ? title.textContent : [...el.childNodes].map((n: El) => n.textContent).join("");
        out.push({ name, color, dash });
      }
    }
  }
  return out;
}
