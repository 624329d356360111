import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import pl from "nodejs-polars";
import { tableFromIPC } from "@uwdata/flechette";
import { ArrowFileSink } from "../../src/flows/arrow_sink.ts";
import { sameRowsAsCsv } from "./_sink_check.ts";

Deno.test("ArrowFileSink: batch by batch, the same rows as the CSV on a real capture, every feature set", async () => {
  await sameRowsAsCsv(
    "arrow",
    (path) => new ArrowFileSink(path, { batchRows: 7 }),
    (path) => pl.readIPC(Buffer.from(Deno.readFileSync(path))),
    (features, path) => {
      const t = tableFromIPC(Deno.readFileSync(path));
      assert.equal(t.numRows, 30);
      assert.equal(t.children[0].data.length, 5, `${features}: record batches`);
    },
  );
});

Deno.test("ArrowFileSink: no rows is a valid file with the columns; nulls, NaN and bad rows", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-arrow-" });
  try {
    const cols = [{ name: "n", type: "int" as const }, { name: "x", type: "float" as const }, {
      name: "s",
      type: "str" as const,
    }];
    const empty = new ArrowFileSink(`${dir}/empty.arrow`);
    empty.header(cols);
    await empty.close();
    const e = pl.readIPC(Buffer.from(Deno.readFileSync(`${dir}/empty.arrow`)));
    assert.deepEqual([e.height, e.columns], [0, ["n", "x", "s"]]);

    const s = new ArrowFileSink(`${dir}/odd.arrow`, { batchRows: 2 });
    s.header(cols);
    s.row([2 ** 53, NaN, ""]); // past the safe integers: null, not a rounded integer
    s.row([-3, -Infinity, "ü"]);
    s.row([-(2 ** 40) - 1, 0.1, "a,b"]);
    assert.throws(() => s.row([1, "x", "y"]), /column "x" is float, found the string "x"/);
    assert.throws(() => s.row([1, 2]), /a row has 2 values, the header 3 columns/);
    await s.close();
    const t = tableFromIPC(Deno.readFileSync(`${dir}/odd.arrow`), { useBigInt: true });
    assert.deepEqual(t.getChild("n")!.toArray(), [null, -3n, -(2n ** 40n) - 1n]);
    const x = t.getChild("x")!.toArray() as number[];
    assert.ok(Number.isNaN(x[0]) && x[1] === -Infinity && x[2] === 0.1);
    assert.deepEqual(t.getChild("s")!.toArray(), ["", "ü", "a,b"]);
    assert.throws(
      () => new ArrowFileSink(`${dir}/bad.arrow`, { batchRows: 0 }),
      /batchRows expects an integer > 0/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
