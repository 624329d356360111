import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import pl from "nodejs-polars";
import { tableFromIPC } from "@uwdata/flechette";
import { ArrowFileSink } from "../../src/flows/arrow_sink.ts";
import { emptyThenOddRows, sameRowsAsCsv } from "./_sink_check.ts";

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
    const s = await emptyThenOddRows(
      dir,
      "arrow",
      (path, batchRows) => new ArrowFileSink(path, { batchRows }),
      (path) => pl.readIPC(Buffer.from(Deno.readFileSync(path))),
    );
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
