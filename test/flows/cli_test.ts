import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import pl from "nodejs-polars";
import { dataPath } from "../_shared.ts";
import { main } from "../../src/cli.ts";
import { CIC_COLUMNS } from "../../src/flows/features/cic.ts";

Deno.test("nadir flows: Parquet and Arrow outputs hold every flow with the feature set's columns", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pq = `${dir}/f.parquet`, ar = `${dir}/f.arrow`;
    assert.equal(
      await main(["flows", dataPath("pcaps", "zeek-ftp-bruteforce.pcap"), "--features", "cic", "--out", pq]),
      0,
    );
    const df = pl.readParquet(pq);
    assert.equal(df.height, 30);
    assert.deepEqual(df.columns, [...CIC_COLUMNS]);
    assert.equal(
      await main(["flows", dataPath("pcaps", "synscan.pcapng"), "--out", ar, "--max-flows", "100"]),
      0,
    );
    const a = pl.readIPC(Buffer.from(Deno.readFileSync(ar)));
    // a 100-flow cap splits some scan flows by eviction: more rows, but every packet is in exactly one
    assert.ok(a.height >= 1994, `rows ${a.height}`);
    assert.equal(a.getColumn("bidirectional_packets").sum(), 2011);
    assert.ok(a.getColumn("expiration_id").toArray().some((e) => e === 3), "evicted flows are marked 3");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nadir flows: bad input is a clear error, bad options a usage error", async () => {
  assert.equal(await main(["flows", "/nonexistent.pcap"]), 1);
  assert.equal(await main(["flows", dataPath("pcaps", "synscan.pcapng"), "--idle-timeout", "0"]), 2);
  assert.equal(await main(["flows", dataPath("pcaps", "synscan.pcapng"), "--features", "xyz"]), 2);
});
