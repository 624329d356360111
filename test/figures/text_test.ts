import assert from "node:assert/strict";
import { fontMetricsSource, parseFace, textWidth, wrapToWidth } from "../../src/figures/text.ts";
import { testWhen } from "../_shared.ts";

const FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
function hasFont(): boolean {
  try {
    Deno.statSync(FONT);
    return true;
  } catch {
    return false;
  }
}
const needFont = hasFont()
  ? undefined
  : { kind: "setup" as const, why: `${FONT} missing (apt install fonts-dejavu-core; scripts/setup.sh does)` };

testWhen([needFont], "text: DejaVu Sans advance widths come from the font file (known glyph widths)", () => {
  assert.equal(fontMetricsSource(), FONT);
  // DejaVu Sans, 2048 units per em: space 651, "i" 569, "W" 2025, "m" 1995 (the font's hmtx).
  const em = (s: string) => textWidth(s, 2048);
  assert.equal(Math.round(em(" ")), 651);
  assert.equal(Math.round(em("i")), 569);
  assert.equal(Math.round(em("W")), 2025);
  assert.equal(Math.round(em("m")), 1995);
  // Bold is wider; an unmapped character costs the missing-glyph box, not zero.
  assert.ok(textWidth("abc", 14, { bold: true }) > textWidth("abc", 14));
  assert.ok(textWidth("\u{10FFFD}", 14) > 0);
});

Deno.test("text: a file that is not a TrueType font is an error naming what was expected", () => {
  const junk = new Uint8Array(64);
  new DataView(junk.buffer).setUint16(4, 1);
  junk.set([0x78, 0x78, 0x78, 0x78], 12);
  assert.throws(() => parseFace(junk), /expected a "head" table, found xxxx/);
});

Deno.test("text: wrapToWidth breaks on spaces by measured width; paragraphs and long words", () => {
  const w = textWidth("aa bb", 10);
  assert.deepEqual(wrapToWidth("aa bb cc dd", 10, w), ["aa bb", "cc dd"]);
  assert.deepEqual(wrapToWidth("a\nb", 10, 1000), ["a", "b"]);
  assert.deepEqual(wrapToWidth("averyveryverylongword x", 10, w), ["averyveryverylongword", "x"]);
  // Narrow letters fit more per line than wide ones at the same width.
  const width = textWidth("iiii iiii", 14);
  assert.equal(wrapToWidth("iiii iiii", 14, width).length, 1);
  assert.equal(wrapToWidth("WWWW WWWW", 14, width).length, 2);
});
