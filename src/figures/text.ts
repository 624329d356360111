/**
 * Text widths in the figures' font, from the font file itself: legends wrap
 * by them, captions break by them, and the figure test checks that no two
 * texts overlap by them.
 *
 * Why not a per-character guess: a fixed 0.6 em per character — what the
 * legend used — overestimates "illi" by half and underestimates "WMW" by a
 * third, so a legend either wastes a row or runs off the canvas (it dropped
 * its last entries). The advance widths of DejaVu Sans come from the
 * `hmtx` table of the TTF that resvg draws with (Debian fonts-dejavu-core),
 * mapped from characters through the `cmap` format-4 subtable; kerning is
 * ignored (DejaVu kerns a few pairs by a few percent). Where the file is
 * missing the guess is used, and {@link fontMetricsSource} says so.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textWidth } from "./text.ts";
 * // Narrow letters are narrower than wide ones, and width scales with size.
 * assert.ok(textWidth("iiii", 14) < textWidth("WWWW", 14));
 * assert.equal(textWidth("abc", 28), 2 * textWidth("abc", 14));
 * ```
 * @module
 */

/** Where Debian's fonts-dejavu-core puts the regular and bold faces. */
const FONT_FILES = {
  regular: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  bold: "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
};

/** Width of a character without metrics, in em (the old guess). */
const GUESS_EM = 0.6;

/** Advance widths in em by code point, for one face. */
interface Face {
  widths: Map<number, number>;
  /** Width of the missing-glyph box (glyph 0), used for unmapped characters. */
  missing: number;
}

const faces = new Map<string, Face | null>();

/** Reads a face's advance widths; null when the file is missing or not a TrueType font. */
function loadFace(path: string): Face | null {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch {
    return null;
  }
  try {
    return parseFace(bytes);
  } catch (e) {
    throw new Error(`${path}: not a readable TrueType font (${(e as Error).message})`);
  }
}

/**
 * Advance widths of a TrueType font: `head` (units per em), `hhea` (how many
 * glyphs carry their own width), `hmtx` (the widths) and `cmap` (Unicode BMP,
 * format 4: segments of code points mapped by a delta or an index array).
 */
export function parseFace(bytes: Uint8Array): { widths: Map<number, number>; missing: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tables = new Map<string, number>();
  const numTables = dv.getUint16(4);
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + 16 * i;
    const tag = String.fromCharCode(bytes[rec], bytes[rec + 1], bytes[rec + 2], bytes[rec + 3]);
    tables.set(tag, dv.getUint32(rec + 8));
  }
  const need = (tag: string) => {
    const at = tables.get(tag);
    if (at === undefined) throw new Error(`expected a "${tag}" table, found ${[...tables.keys()].join(" ")}`);
    return at;
  };
  const unitsPerEm = dv.getUint16(need("head") + 18);
  const nMetrics = dv.getUint16(need("hhea") + 34);
  const hmtx = need("hmtx");
  const advance = (glyph: number) => dv.getUint16(hmtx + 4 * Math.min(glyph, nMetrics - 1)) / unitsPerEm;
  const cmap = need("cmap");
  let sub = -1;
  for (let i = 0, n = dv.getUint16(cmap + 2); i < n; i++) {
    const rec = cmap + 4 + 8 * i, platform = dv.getUint16(rec), encoding = dv.getUint16(rec + 2);
    const at = cmap + dv.getUint32(rec + 4);
    if (((platform === 3 && encoding === 1) || platform === 0) && dv.getUint16(at) === 4) sub = at;
  }
  if (sub < 0) throw new Error("expected a Unicode BMP cmap subtable (format 4)");
  const segX2 = dv.getUint16(sub + 6);
  const ends = sub + 14, starts = ends + segX2 + 2, deltas = starts + segX2, ranges = deltas + segX2;
  const widths = new Map<number, number>();
  for (let s = 0; s < segX2; s += 2) {
    const end = dv.getUint16(ends + s), start = dv.getUint16(starts + s);
    const delta = dv.getInt16(deltas + s), range = dv.getUint16(ranges + s);
    for (let c = start; c <= end && c !== 0xffff; c++) {
      let glyph: number;
      if (range === 0) glyph = (c + delta) & 0xffff;
      else {
        const g = dv.getUint16(ranges + s + range + 2 * (c - start));
        glyph = g === 0 ? 0 : (g + delta) & 0xffff;
      }
      if (glyph !== 0) widths.set(c, advance(glyph));
    }
  }
  return { widths, missing: advance(0) };
}

function face(bold: boolean): Face | null {
  const key = bold ? "bold" : "regular";
  if (!faces.has(key)) faces.set(key, loadFace(FONT_FILES[key]));
  return faces.get(key)!;
}

/**
 * Width of `text` at `fontSize` (same units) in DejaVu Sans, regular or
 * bold; 0.6 em a character where the font file is missing.
 */
export function textWidth(text: string, fontSize: number, opts: { bold?: boolean } = {}): number {
  const f = face(opts.bold ?? false);
  let em = 0;
  for (const ch of text) {
    em += f ? f.widths.get(ch.codePointAt(0)!) ?? f.missing : GUESS_EM;
  }
  return em * fontSize;
}

/** Which metrics {@link textWidth} uses: the font file's path, or "estimate (… missing)". */
export function fontMetricsSource(): string {
  return face(false)
    ? FONT_FILES.regular
    : `estimate (${GUESS_EM} em a character; ${FONT_FILES.regular} missing)`;
}

/**
 * Splits `text` into lines no wider than `maxWidth` at `fontSize` (on
 * spaces; a word wider than the line gets a line of its own). Paragraphs
 * (`\n`) start new lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textWidth, wrapToWidth } from "./text.ts";
 * const lines = wrapToWidth("one two three four five six", 14, textWidth("one two three", 14));
 * assert.deepEqual(lines, ["one two three", "four five six"]);
 * ```
 */
export function wrapToWidth(
  text: string,
  fontSize: number,
  maxWidth: number,
  opts: { bold?: boolean } = {},
): string[] {
  const lines: string[] = [];
  for (const para of text.split(/\n/)) {
    let line = "";
    for (const word of para.split(/\s+/).filter(Boolean)) {
      const next = line ? `${line} ${word}` : word;
      if (line && textWidth(next, fontSize, opts) > maxWidth) {
        lines.push(line);
        line = word;
      } else line = next;
    }
    lines.push(line);
  }
  return lines;
}
