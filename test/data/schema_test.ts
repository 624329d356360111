import assert from "node:assert/strict";
import pl from "nodejs-polars";
import {
  featureColumns,
  isGenericMetadata,
  KDD99_SCHEMA,
  NSL_KDD_SCHEMA,
  schemaOf,
} from "../../src/data/schema.ts";
import { loadCicIds2017 } from "../../src/data/cicids2017.ts";
import { cicAttackName, cicCategory, kddCategory, unswCategory } from "../../src/data/targets.ts";
import { tempFile } from "./_helpers.ts";
import { gunzipSync } from "node:zlib";
import { dataPath } from "../_shared.ts";

Deno.test("schemaOf / featureColumns on frames: known schemas, subsets, generic flow tables", () => {
  const kdd = pl.DataFrame(
    Object.fromEntries([...KDD99_SCHEMA.features, "label", "attack", "category"].map((c) => [c, [1]])),
  );
  assert.deepEqual(featureColumns(kdd), [...KDD99_SCHEMA.features]);
  const nsl = kdd.withColumns(pl.lit(3).alias("difficulty"));
  assert.equal(schemaOf(nsl), NSL_KDD_SCHEMA);
  assert.ok(!featureColumns(nsl).includes("difficulty"));
  const flows = pl.DataFrame({
    id: [1],
    src_ip: ["10.0.0.1"],
    dst_ip: ["10.0.0.2"],
    src_port: [1],
    dst_port: [80],
    vlan_id: [0],
    bidirectional_first_seen_ms: [1],
    bidirectional_packets: [3],
    bidirectional_bytes: [200],
    protocol: [6],
    label: [0],
  });
  assert.equal(schemaOf(flows), undefined);
  assert.deepEqual(featureColumns(flows), ["bidirectional_packets", "bidirectional_bytes", "protocol"]);
  assert.deepEqual(featureColumns(flows, ["src_port", "bidirectional_bytes"]), [
    "src_port",
    "bidirectional_bytes",
  ]);
  assert.throws(() => featureColumns(flows, ["nope"]), /lacks feature column\(s\) "nope"/);
  assert.ok(isGenericMetadata("Src IP") && isGenericMetadata("timestamp") && !isGenericMetadata("dst_bytes"));
});

Deno.test("label mappings: KDD, CIC (both spellings), UNSW", () => {
  assert.equal(kddCategory("normal"), "normal");
  assert.equal(kddCategory("snmpgetattack"), "R2L");
  assert.equal(kddCategory("httptunnel"), "U2R");
  assert.equal(kddCategory("brand_new"), "unknown");
  assert.equal(cicAttackName("Web Attack \uFFFD Sql Injection"), "Web Attack - Sql Injection");
  assert.equal(cicAttackName(" BENIGN "), "normal");
  assert.equal(cicCategory("Web Attack - Sql Injection"), "Web Attack");
  assert.equal(cicCategory("PortScan"), "PortScan");
  assert.equal(cicCategory("DoS slowloris"), "DoS");
  assert.equal(cicCategory("DDoS"), "DDoS");
  assert.equal(cicCategory("Bot"), "Botnet");
  assert.equal(cicCategory("DoS Hulk - Attempted"), "DoS");
  assert.equal(cicCategory("Something else"), "unknown");
  assert.equal(unswCategory(" Fuzzers "), "Fuzzers");
  assert.equal(unswCategory("Backdoors"), "Backdoor");
  assert.equal(unswCategory(null), "normal");
});

Deno.test("CIC-IDS2017 '- Attempted' labels: attack by default, benign on request", () => {
  // The real Heartbleed slice, relabelled as the improved release marks attempted attacks.
  const text = new TextDecoder().decode(
    gunzipSync(Deno.readFileSync(dataPath("cic-ids2017/Heartbleed_11.csv.gz"))),
  );
  const lines = text.trimEnd().split("\n");
  lines[2] = lines[2].replace(",Heartbleed,-1", ",Heartbleed - Attempted,3");
  const path = tempFile("attempted.csv", lines.join("\n") + "\n");
  const a = loadCicIds2017(path);
  assert.deepEqual(Array.from(a.getColumn("label").toArray()).slice(0, 3), [1, 1, 1]);
  assert.equal(a.getColumn("category").toArray()[1], "Heartbleed");
  const b = loadCicIds2017(path, { attempted: "benign" });
  assert.deepEqual(b.getColumn("label").toArray().slice(0, 3), [1, 0, 1]);
  assert.equal(b.getColumn("category").toArray()[1], "normal");
  assert.equal(b.getColumn("attack").toArray()[1], "Heartbleed - Attempted");
});
