import assert from "node:assert/strict";
import { dataPath } from "../_shared.ts";
import { meterFile } from "../../src/flows/pipeline.ts";
import { featureSet } from "../../src/flows/features/mod.ts";
import { CIC_COLUMNS } from "../../src/flows/features/cic.ts";
import { kddFlag, kddService } from "../../src/flows/features/kdd.ts";
import { KDD_HEADER_FEATURES } from "../../src/data/schema.ts";
import { gunzipSync } from "node:zlib";

async function rows(file: string, features: "basic" | "cic" | "kdd") {
  const out: Record<string, number | string>[] = [];
  await meterFile(dataPath("pcaps", file), {
    features,
    onRow: (r, cols) => out.push(Object.fromEntries(cols.map((c, i) => [c.name, r[i]]))),
  });
  return out;
}

Deno.test("cic: column names equal the improved CIC-IDS2017 CSV header (minus Label, Attempted Category)", () => {
  const head = new TextDecoder().decode(
    gunzipSync(Deno.readFileSync(dataPath("cic-ids2017", "Heartbleed_11.csv.gz"))),
  )
    .split("\n")[0].trim().split(",");
  assert.deepEqual([...CIC_COLUMNS], head.filter((h) => h !== "Label" && h !== "Attempted Category"));
});

Deno.test("cic: FTP brute-force flow 0 equals values hand-checked with tshark", async () => {
  // tshark -r zeek-ftp-bruteforce.pcap -Y tcp.stream==0 -T fields -e frame.time_epoch -e tcp.hdr_len -e tcp.len ...
  const r = (await rows("zeek-ftp-bruteforce.pcap", "cic"))[0];
  assert.equal(r["Flow ID"], "192.168.56.1-192.168.56.101-54017-21-6");
  assert.equal(r["Flow Duration"], 2_373_009); // 47.193055 − 44.820046 s
  assert.equal(r["Total Fwd Packet"], 11);
  assert.equal(r["Total Bwd packets"], 9); // the final ACK after both FINs stays in the flow
  assert.equal(r["Total Length of Fwd Packet"], 24); // payloads 10 + 8 + 6
  assert.equal(r["Total Length of Bwd Packet"], 137); // 69 + 32 + 22 + 14
  assert.equal(r["Fwd Header Length"], 44 + 10 * 32);
  assert.equal(r["Bwd Header Length"], 40 + 8 * 32);
  assert.equal(r["Flow IAT Max"], 2_324_300); // 47.191126 − 44.866826
  assert.equal(r["FWD Init Win Bytes"], 65535);
  assert.equal(r["Bwd Init Win Bytes"], 14480); // first backward window (SYN-ACK), not the last
  assert.equal(r["Fwd Act Data Pkts"], 3);
  assert.equal(r["PSH Flag Count"], 7);
  assert.equal(r["SYN Flag Count"], 2);
  assert.equal(r["FIN Flag Count"], 2);
  assert.equal(r["Fwd Seg Size Min"], 32);
  assert.equal(r["Total TCP Flow Time"], 2_373_009);
});

Deno.test("cic: never Infinity or NaN (zero-duration flows get rate 0)", async () => {
  for (const r of await rows("synscan.pcapng", "cic")) {
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === "number") assert.ok(Number.isFinite(v), `${k} = ${v}`);
    }
  }
});

Deno.test("kdd: flag state machine", () => {
  const t = {
    origSyn: true,
    respSynAck: false,
    origFin: false,
    respFin: false,
    origRst: false,
    respRst: false,
    respPackets: 0,
  };
  assert.equal(kddFlag(t), "S0");
  assert.equal(kddFlag({ ...t, respRst: true }), "REJ");
  assert.equal(kddFlag({ ...t, origRst: true }), "RSTOS0");
  assert.equal(kddFlag({ ...t, origFin: true }), "SH");
  assert.equal(kddFlag({ ...t, origSyn: false }), "OTH");
  const est = { ...t, respSynAck: true };
  assert.equal(kddFlag(est), "S1");
  assert.equal(kddFlag({ ...est, origFin: true, respFin: true }), "SF");
  assert.equal(kddFlag({ ...est, origFin: true }), "S2");
  assert.equal(kddFlag({ ...est, respFin: true }), "S3");
  assert.equal(kddFlag({ ...est, origRst: true }), "RSTO");
  assert.equal(kddFlag({ ...est, respRst: true }), "RSTR");
  assert.equal(kddService(6, 21, -1, -1), "ftp");
  assert.equal(kddService(17, 53, -1, -1), "domain_u");
  assert.equal(kddService(1, 0, 8, 0), "eco_i");
  assert.equal(kddService(6, 7777, -1, -1), "other");
});

Deno.test("kdd: SYN scan is S0/REJ with high serror counts; FTP logins are SF; names are NSL-KDD's", async () => {
  const fs = featureSet("kdd");
  for (const n of KDD_HEADER_FEATURES) assert.ok(fs.columns.some((c) => c.name === n), n);
  const scan = await rows("synscan.pcapng", "kdd");
  const flags = new Map<string, number>();
  for (const r of scan) flags.set(r.flag as string, (flags.get(r.flag as string) ?? 0) + 1);
  assert.ok(
    (flags.get("S0") ?? 0) + (flags.get("REJ") ?? 0) > 0.95 * scan.length,
    JSON.stringify([...flags]),
  );
  const last = scan[scan.length - 1];
  assert.ok((last.dst_host_count as number) >= 90 && (last.dst_host_serror_rate as number) > 0.9);
  const ftp = await rows("zeek-ftp-bruteforce.pcap", "kdd");
  assert.ok(ftp.every((r) => r.flag === "SF" && r.service === "ftp"));
  assert.equal(ftp[0].src_bytes, 24);
  assert.equal(ftp[0].dst_bytes, 137);
  assert.equal(ftp[0].duration, 2);
});
