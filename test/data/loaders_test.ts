import assert from "node:assert/strict";
import { needShared, sharedPath, testWhen } from "../_shared.ts";
import { fixture } from "./_helpers.ts";
import { datasetInfo, loadDataset } from "../../src/data/datasets.ts";
import { loadKdd99, loadNslKdd } from "../../src/data/kdd.ts";
import { loadCicIds2017 } from "../../src/data/cicids2017.ts";
import { loadUnswNb15 } from "../../src/data/unsw_nb15.ts";
import {
  CIC_IDS2017_SCHEMA,
  featureColumns,
  KDD_FEATURES,
  KDD_HEADER_FEATURES,
  NSL_KDD_SCHEMA,
  schemaOf,
  TARGET_COLUMNS,
  UNSW_NB15_RAW_SCHEMA,
  UNSW_NB15_SCHEMA,
} from "../../src/data/schema.ts";
import { labels, toMatrix } from "../../src/data/frame.ts";
import { detectFamily, loadTable } from "../../src/data/table.ts";

function counts(df: ReturnType<typeof loadNslKdd>) {
  return datasetInfo("x", df);
}

Deno.test("NSL-KDD: the four vendored files have the published row and label counts", () => {
  const expected: Record<string, [number, number]> = {
    "nsl-kdd-train": [125973, 67343],
    "nsl-kdd-train-20": [25192, 13449],
    "nsl-kdd-test": [22544, 9711],
    "nsl-kdd-test-21": [11850, 2152],
  };
  for (const [name, [rows, normal]] of Object.entries(expected)) {
    const df = loadNslKdd(name);
    const info = counts(df);
    assert.equal(info.rows, rows, name);
    assert.equal(info.label_counts["0"], normal, name);
    assert.equal(info.category_counts.normal, normal, name);
    assert.equal(info.features, 41, name);
    assert.deepEqual(df.columns, ["difficulty", ...KDD_FEATURES, ...TARGET_COLUMNS]);
  }
});

Deno.test("NSL-KDD: attack names, categories and difficulty are parsed", () => {
  const df = loadNslKdd("nsl-kdd-test");
  const info = counts(df);
  assert.deepEqual(info.category_counts, { normal: 9711, DoS: 7458, R2L: 2754, Probe: 2421, U2R: 200 });
  const first = df.head(1).toRecords()[0] as Record<string, unknown>;
  assert.equal(first.attack, "neptune");
  assert.equal(first.category, "DoS");
  assert.equal(first.label, 1);
  assert.equal(first.difficulty, 21);
  assert.equal(first.protocol_type, "tcp");
  assert.equal(first.service, "private");
});

Deno.test("KDD Cup 99: 10% train and corrected test reproduce the published category counts", () => {
  const train = counts(loadKdd99("kdd99-train"));
  assert.equal(train.rows, 494021);
  assert.equal(train.label_counts["0"], 97278);
  assert.deepEqual(train.category_counts, { DoS: 391458, normal: 97278, Probe: 4107, R2L: 1126, U2R: 52 });
  const testDf = loadKdd99("kdd99-test");
  const test = counts(testDf);
  assert.equal(test.rows, 311029);
  assert.equal(test.label_counts["0"], 60593);
  // Elkan 2000, SIGKDD Explorations 1(2): test-set class distribution.
  assert.deepEqual(test.category_counts, { DoS: 229853, normal: 60593, R2L: 16189, Probe: 4166, U2R: 228 });
  const attacks = new Set(testDf.getColumn("attack").toArray() as string[]);
  for (
    const a of [
      "apache2",
      "mailbomb",
      "processtable",
      "udpstorm",
      "saint",
      "mscan",
      "snmpgetattack",
      "httptunnel",
      "xterm",
    ]
  ) {
    assert.ok(attacks.has(a), `${a} present without trailing dot`);
  }
  assert.ok(![...attacks].some((a) => a.endsWith(".")));
});

Deno.test("CIC-IDS2017 improved sample: 25,127 rows, 2,500 benign, metadata separated", () => {
  const df = loadCicIds2017("cic-ids2017");
  const info = counts(df);
  assert.equal(info.rows, 25127);
  assert.equal(info.label_counts["0"], 2500);
  assert.deepEqual(info.category_counts, {
    DoS: 9240,
    "Brute Force": 5000,
    Infiltration: 2536,
    DDoS: 2500,
    normal: 2500,
    PortScan: 2500,
    Botnet: 736,
    "Web Attack": 104,
    Heartbleed: 11,
  });
  const feats = featureColumns(df);
  assert.equal(feats.length, 82);
  for (
    const m of [
      "id",
      "Flow ID",
      "Src IP",
      "Src Port",
      "Dst IP",
      "Dst Port",
      "Timestamp",
      "Attempted Category",
      "Label",
      "label",
    ]
  ) {
    assert.ok(!feats.includes(m), `${m} is not a feature`);
  }
  assert.equal(schemaOf(df)?.name, "cic-ids2017");
  const attacks = new Set(df.getColumn("attack").toArray() as string[]);
  assert.ok(attacks.has("Web Attack - SQL Injection") && attacks.has("normal") && !attacks.has("BENIGN"));
});

testWhen(
  [needShared("CIC-IDS2017 plain CSVs", "cic-ids2017")],
  "CIC-IDS2017: the shared plain-CSV directory loads identically to the vendored .gz copies",
  () => {
    const dir = sharedPath("cic-ids2017");
    const a = loadCicIds2017("cic-ids2017");
    const b = loadDataset({ name: "cic-ids2017", path: dir }).df;
    assert.ok(a.frameEqual(b));
  },
);

Deno.test("CIC-IDS2017 original MachineLearningCVE layout maps to the improved names (hand-written fixture)", () => {
  const warnings: string[] = [];
  const df = loadCicIds2017(fixture("cic-original/MachineLearningCVE-sample.csv"), {
    warn: (m) => warnings.push(m),
  });
  assert.equal(df.height, 7);
  assert.ok(df.columns.includes("Total Fwd Packet") && !df.columns.includes("Total Fwd Packets"));
  assert.ok(df.columns.includes("CWR Flag Count") && df.columns.includes("FWD Init Win Bytes"));
  assert.equal(df.columns.filter((c) => c === "Fwd Header Length").length, 1);
  // Dst Port is metadata even though MachineLearningCVE has no other id columns.
  const feats = featureColumns(df);
  assert.equal(feats.length, 76);
  assert.ok(!feats.includes("Dst Port"));
  assert.ok(feats.every((f) => CIC_IDS2017_SCHEMA.features.includes(f)));
  const bytes = df.getColumn("Flow Bytes/s").toArray() as number[];
  assert.equal(bytes[2], Infinity);
  assert.ok(Number.isNaN(bytes[3]));
  const rec = df.select("attack", "category", "label").toRecords() as {
    attack: string;
    category: string;
    label: number;
  }[];
  assert.deepEqual(rec.map((r) => r.category), [
    "normal",
    "Brute Force",
    "Brute Force",
    "normal",
    "Web Attack",
    "DoS",
    "Botnet",
  ]);
  assert.equal(rec[4].attack, "Web Attack - Brute Force");
  assert.deepEqual(rec.map((r) => r.label), [0, 1, 1, 0, 1, 1, 1]);
  assert.deepEqual(warnings, []);
});

Deno.test("CIC-IDS2017 original TrafficLabelling layout: addresses are metadata; empty rows counted", () => {
  const warnings: string[] = [];
  const df = loadCicIds2017(fixture("cic-original/TrafficLabelling-sample.csv"), {
    warn: (m) => warnings.push(m),
  });
  assert.equal(df.height, 3);
  assert.deepEqual(df.columns.slice(0, 6), [
    "Flow ID",
    "Src IP",
    "Src Port",
    "Dst IP",
    "Dst Port",
    "Timestamp",
  ]);
  assert.equal(featureColumns(df).length, 77);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /skipped 1 rows whose every field is empty/);
});

Deno.test("UNSW-NB15 training/testing CSV with BOM (hand-written fixture)", () => {
  const df = loadUnswNb15(fixture("unsw/UNSW_NB15_training-set.csv"));
  assert.equal(df.height, 8);
  assert.equal(schemaOf(df)?.name, "unsw-nb15");
  assert.deepEqual(featureColumns(df), [...UNSW_NB15_SCHEMA.features]);
  assert.equal(UNSW_NB15_SCHEMA.features.length, 42);
  assert.deepEqual(df.getColumn("category").toArray(), [
    "normal",
    "normal",
    "Exploits",
    "Reconnaissance",
    "Generic",
    "Backdoor",
    "normal",
    "Fuzzers",
  ]);
  assert.deepEqual(Array.from(labels(df)), [0, 0, 1, 1, 1, 1, 0, 1]);
  assert.equal(df.getColumn("id").toArray()[0], 1);
});

Deno.test("UNSW-NB15 raw file: 49 published columns, blanks, hex ports, padded attack_cat (hand-written fixture)", () => {
  const df = loadDataset({ name: "unsw-nb15", path: fixture("unsw/UNSW-NB15_1.csv") }).df;
  assert.equal(df.height, 5);
  assert.equal(schemaOf(df)?.name, "unsw-nb15-raw");
  const feats = featureColumns(df);
  assert.deepEqual(feats, [...UNSW_NB15_RAW_SCHEMA.features]);
  assert.equal(feats.length, 41);
  for (const m of ["srcip", "sport", "dstip", "dsport", "stime", "ltime", "attack_cat"]) {
    assert.ok(!feats.includes(m));
  }
  assert.ok(feats.includes("smean") && feats.includes("response_body_len") && feats.includes("sload"));
  assert.deepEqual(df.getColumn("sport").toArray(), ["1390", "2142", "0x000b", "-", "1043"]);
  assert.deepEqual(df.getColumn("ct_ftp_cmd").toArray(), [0, 0, 0, 0, 2]);
  assert.deepEqual(df.getColumn("attack").toArray(), [
    "normal",
    "normal",
    "Exploits",
    "Fuzzers",
    "Backdoors",
  ]);
  assert.deepEqual(df.getColumn("category").toArray(), [
    "normal",
    "normal",
    "Exploits",
    "Fuzzers",
    "Backdoor",
  ]);
});

Deno.test("feature sets: kdd-header selects the header-computable KDD features only", () => {
  const df = loadNslKdd("nsl-kdd-test-21", { features: "kdd-header" });
  assert.deepEqual(featureColumns(df, "kdd-header"), [...KDD_HEADER_FEATURES]);
  assert.equal(KDD_HEADER_FEATURES.length, 28);
  assert.ok(!df.columns.includes("hot") && !df.columns.includes("logged_in"));
  assert.deepEqual(featureColumns(NSL_KDD_SCHEMA, "kdd-header"), [...KDD_HEADER_FEATURES]);
  assert.throws(
    () => loadCicIds2017("cic-ids2017", { features: "kdd-header" }),
    /feature set "kdd-header" is not defined for cic-ids2017/,
  );
});

Deno.test("toMatrix: row-major float64 of the chosen columns; strings are rejected", () => {
  const df = loadNslKdd("nsl-kdd-test-21");
  const cols = ["src_bytes", "dst_bytes", "count"];
  const m = toMatrix(df, cols);
  assert.equal(m.rows, 11850);
  assert.equal(m.cols, 3);
  const r0 = df.head(2).toRecords() as Record<string, number>[];
  assert.deepEqual(Array.from(m.data.subarray(0, 6)), [
    r0[0].src_bytes,
    r0[0].dst_bytes,
    r0[0].count,
    r0[1].src_bytes,
    r0[1].dst_bytes,
    r0[1].count,
  ]);
  assert.throws(
    () => toMatrix(df, ["service"]),
    /column "service": expected numbers, found text \(e.g. "[a-z_]+"\); one-hot encode/,
  );
});

Deno.test("detectFamily / loadTable recognise every format from the first line", async () => {
  assert.equal(await detectFamily("data/nsl-kdd/KDDTest-21.txt.gz"), "nsl-kdd");
  assert.equal(await detectFamily("data/kdd99/corrected.gz"), "kdd99");
  assert.equal(await detectFamily("data/cic-ids2017"), "cic-ids2017");
  assert.equal(await detectFamily(fixture("cic-original/MachineLearningCVE-sample.csv")), "cic-ids2017");
  assert.equal(await detectFamily(fixture("unsw/UNSW_NB15_training-set.csv")), "unsw-nb15");
  assert.equal(await detectFamily(fixture("unsw/UNSW-NB15_1.csv")), "unsw-nb15");
  const df = await loadTable(fixture("unsw/UNSW-NB15_1.csv"));
  assert.equal(df.height, 5);
});
