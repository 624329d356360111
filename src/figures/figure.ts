/**
 * The {@link Figure} type every chart in nadir returns, and the frame that
 * turns a chart into a slide-ready picture: a white 16:9 canvas with the title,
 * subtitle, the chart, a wrapped caption and a provenance stamp, rendered to a
 * standalone SVG string or to PNG bytes (resvg, system DejaVu fonts).
 *
 * Charts are drawn lazily by a `draw(width, height)` callback because the room
 * the chart gets depends on how many caption lines the frame needs. Plot runs
 * against a linkedom `document`, so nothing here needs a browser.
 *
 * In a Deno Jupyter kernel a Figure displays itself inline: the kernel calls
 * `[Symbol.for("Jupyter.display")]()` and we answer with both `image/svg+xml`
 * and `text/html` (Debian's nbconvert HTML template blanks SVG-only outputs,
 * our own renderer in scripts/nbhtml.py prefers the HTML one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossCurve } from "./charts.ts";
 * const fig = lossCurve([{ name: "autoencoder", loss: [1, 0.5, 0.3] }], { title: "Training loss" });
 * const svg = fig.toSVG();
 * assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
 * ```
 * @module
 */
import { parseHTML } from "linkedom";
import { Resvg } from "@resvg/resvg-js";
import { wrapToWidth } from "./text.ts";

/** Logical canvas the frame lays out on (16:9); output is scaled to {@link OUTPUT_WIDTH}. */
export const CANVAS_WIDTH = 1200;
/** Logical canvas height. */
export const CANVAS_HEIGHT = 675;
/** Width of saved figures in pixels (PNG) and of the SVG's width attribute. */
export const OUTPUT_WIDTH = 1600;
/** Height of saved figures in pixels. */
export const OUTPUT_HEIGHT = 900;
/** Font used for every text in a figure (Debian fonts-dejavu-core). */
export const FONT_FAMILY = "DejaVu Sans";
/** Base font size of chart text on the logical canvas (≈19 px once scaled to 1600×900). */
export const BASE_FONT_SIZE = 14;

/** Where a figure came from; stamped in the bottom-right corner of every saved figure. */
export interface Provenance {
  /** Git commit (short sha) of the code that drew it. */
  gitSha?: string;
  /** ISO date (UTC) it was drawn. */
  date?: string;
  /** Short sha256 of the data it shows (see {@link ./provenance.ts}). */
  dataSha?: string;
  /** nadir version. */
  version?: string;
  /** Free text, e.g. the run id or dataset name. */
  source?: string;
}

/** Texts around a chart. */
export interface FrameText {
  title?: string;
  subtitle?: string;
  /** One paragraph; wrapped to the canvas width. Say what the reader should see. */
  caption?: string;
  provenance?: Provenance;
}

/** Draws the chart into the given logical size and returns an `<svg>` string. */
export type DrawFn = (width: number, height: number) => string;

let sharedDocument: Document | undefined;

/** A linkedom document for Observable Plot's `document` option (one per process). */
export function plotDocument(): Document {
  if (!sharedDocument) {
    sharedDocument = parseHTML("<!doctype html><html><head></head><body></body></html>")
      .document as unknown as Document;
  }
  return sharedDocument;
}

/** Escapes text for SVG/HTML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/**
 * Makes a Plot/linkedom `<svg>` string standalone: adds the SVG namespace
 * (linkedom omits it and resvg refuses the document without it) and drops
 * Plot's `<style>` block, whose `:where()` selectors resvg cannot parse — the
 * fonts and colours it would set are given as attributes instead.
 */
export function standaloneSvg(svg: string): string {
  let out = svg.replace(/<style>[\s\S]*?<\/style>/g, "");
  if (!/^<svg[^>]*\sxmlns=/.test(out)) out = out.replace(/^<svg/, '<svg xmlns="http://www.w3.org/2000/svg"');
  return out;
}

/** Formats a provenance record as one line. */
export function provenanceLine(p: Provenance): string {
  const parts: string[] = [];
  if (p.source) parts.push(p.source);
  if (p.gitSha) parts.push(`git ${p.gitSha}`);
  if (p.dataSha) parts.push(`data sha256 ${p.dataSha}`);
  if (p.version) parts.push(`nadir ${p.version}`);
  if (p.date) parts.push(p.date);
  return parts.join(" · ");
}

/**
 * A chart plus its texts. Immutable: {@link Figure.with} returns a copy with
 * other texts. Render with {@link Figure.toSVG} / {@link Figure.toPNG}; save
 * with `saveFigure` from ./save.ts.
 */
export class Figure {
  readonly draw: DrawFn;
  readonly text: FrameText;

  constructor(draw: DrawFn, text: FrameText = {}) {
    this.draw = draw;
    this.text = text;
  }

  /** A copy with the given texts merged over the current ones. */
  with(text: FrameText): Figure {
    return new Figure(this.draw, { ...this.text, ...text });
  }

  /**
   * The framed figure as a standalone SVG document (1600×900 by default, laid
   * out on a 1200×675 logical canvas so fonts scale with the output).
   */
  toSVG(opts: { width?: number; height?: number } = {}): string {
    const W = CANVAS_WIDTH, H = CANVAS_HEIGHT;
    const outW = opts.width ?? OUTPUT_WIDTH;
    const outH = opts.height ?? Math.round(outW * H / W);
    const { title, subtitle, caption, provenance } = this.text;
    const pad = 24;
    const parts: string[] = [];
    let y = pad;
    if (title) {
      y += 26;
      parts.push(
        `<text x="${pad}" y="${y}" font-size="26" font-weight="bold" fill="#111">${escapeXml(title)}</text>`,
      );
      y += 8;
    }
    if (subtitle) {
      y += 18;
      parts.push(`<text x="${pad}" y="${y}" font-size="17" fill="#444">${escapeXml(subtitle)}</text>`);
      y += 6;
    }
    const top = y + 8;
    const captionLines = caption ? wrapToWidth(caption, 14.5, W - 2 * pad) : [];
    const provText = provenance ? provenanceLine(provenance) : "";
    const bottomRoom = captionLines.length * 18 + (captionLines.length ? 10 : 0) + (provText ? 22 : 0) +
      pad / 2;
    const chartH = Math.max(120, H - top - bottomRoom);
    const chartW = W - 2 * pad;
    const chart = standaloneSvg(this.draw(chartW, chartH)).replace(
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/,
      `<svg x="${pad}" y="${top}"`,
    );
    parts.push(chart);
    let cy = top + chartH + 10;
    for (const line of captionLines) {
      cy += 17;
      parts.push(`<text x="${pad}" y="${cy}" font-size="14.5" fill="#222">${escapeXml(line)}</text>`);
    }
    if (provText) {
      parts.push(
        `<text x="${W - pad / 2}" y="${H - 10}" font-size="11.5" fill="#777" text-anchor="end">${
          escapeXml(provText)
        }</text>`,
      );
    }
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${outW}" height="${outH}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="${FONT_FAMILY}, sans-serif">` +
      `<rect width="${W}" height="${H}" fill="white"/>${parts.join("")}</svg>`;
  }

  /** PNG bytes of {@link Figure.toSVG} at `width` pixels (default 1600, so 1600×900). */
  toPNG(opts: { width?: number } = {}): Uint8Array {
    return svgToPng(this.toSVG(), opts.width ?? OUTPUT_WIDTH);
  }

  /** HTML for notebooks and reports: the SVG inline, scaled to the cell width. */
  toHTML(): string {
    const svg = this.toSVG().replace(/^<svg /, '<svg style="max-width:100%;height:auto" ');
    return `<div class="nadir-figure">${svg}</div>`;
  }

  /** Inline display in the Deno Jupyter kernel (last expression of a cell, or `show(fig)`). */
  [Symbol.for("Jupyter.display")](): Record<string, string> {
    return { "image/svg+xml": this.toSVG(), "text/html": this.toHTML() };
  }
}

/** Renders an SVG document to PNG bytes with resvg and the system fonts. */
export function svgToPng(svg: string, width: number = OUTPUT_WIDTH): Uint8Array {
  const r = new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
    fitTo: { mode: "width", value: width },
    background: "white",
  });
  return r.render().asPng();
}

/** Width and height from a PNG's IHDR chunk (throws when the bytes are not a PNG). */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || sig.some((b, i) => png[i] !== b)) {
    throw new RangeError(`not a PNG: expected the 8-byte PNG signature, found ${png.length} bytes`);
  }
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const type = String.fromCharCode(...png.subarray(12, 16));
  if (type !== "IHDR") throw new RangeError(`not a PNG: expected IHDR as first chunk, found "${type}"`);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}
