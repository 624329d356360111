import assert from "node:assert/strict";
import { join } from "node:path";
import { renderSlideFigures } from "../../src/cli/figures.ts";
import { pngSize } from "../../src/figures/mod.ts";
import { ROOT } from "../_shared.ts";

Deno.test({
  name: "nadir figures: slide set from the committed results/ and vendored data, every PNG 1600×900",
  sanitizeResources: false,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "nadir-slides-" });
    try {
      const r = await renderSlideFigures({ out, results: join(ROOT, "results"), log: () => {} });
      const pngs = r.files.filter((f) => f.endsWith(".png"));
      assert.ok(pngs.some((f) => f.endsWith("eda-nsl-kdd-train-class-balance.png")));
      assert.equal(r.files.filter((f) => f.endsWith(".svg")).length, pngs.length);
      for (const p of pngs) {
        assert.deepEqual(pngSize(await Deno.readFile(p)), { width: 1600, height: 900 }, p);
      }
      const svg = await Deno.readTextFile(join(out, "eda-cic-ids2017-class-balance.svg"));
      assert.match(svg, /Class balance · cic-ids2017/);
      assert.match(svg, /data sha256 [0-9a-f]{16}/);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("nadir figures: an empty results root still renders the data figures", async () => {
  const out = await Deno.makeTempDir({ prefix: "nadir-slides-" });
  const empty = await Deno.makeTempDir({ prefix: "nadir-results-" });
  try {
    const r = await renderSlideFigures({ out, results: empty, log: () => {} });
    assert.deepEqual(r.files.map((f) => f.replace(/^.*\//, "")).sort(), [
      "eda-cic-ids2017-class-balance.png",
      "eda-cic-ids2017-class-balance.svg",
      "eda-nsl-kdd-train-class-balance.png",
      "eda-nsl-kdd-train-class-balance.svg",
    ]);
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(empty, { recursive: true });
  }
});
