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

Deno.test("nadir flows: a link type the decoder does not read is warned about; a wrong --out extension refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The FTP capture with its header's link type set to 999: every packet is non-IP. It had given 0 flows
    // without a word.
    const bytes = Deno.readFileSync(dataPath("pcaps", "zeek-ftp-bruteforce.pcap"));
    new DataView(bytes.buffer).setUint32(20, 999, true);
    Deno.writeFileSync(`${dir}/lt999.pcap`, bytes);
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-ffi",
        new URL("../../src/cli.ts", import.meta.url).pathname,
        "flows",
        `${dir}/lt999.pcap`,
        "--out",
        `${dir}/f.csv`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, err);
    assert.match(
      err,
      /lt999\.pcap: 606 packet\(s\) of link type 999, which nadir does not decode .* no flows/,
    );
    assert.equal(JSON.parse(new TextDecoder().decode(r.stdout)).nonIpPackets, 606);
    assert.equal(await main(["flows", dataPath("pcaps", "synscan.pcapng"), "--out", `${dir}/f.txt`]), 2);
    assert.equal(await main(["flows", dataPath("pcaps", "synscan.pcapng"), "--max-flows", "1.5"]), 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
