/**
 * Detection on labelled captures (issue 14, scope 2): a flow model is fitted
 * on benign traffic metered from captures, then scores held-out benign flows
 * and the attack flows of four attack captures, labelled by `nadir label`
 * rules files (data/labels/): an FTP brute force, a TCP SYN scan, an ICMP
 * sweep and a DHCP flood. The feature set is a parameter, so the same split
 * compares whole-flow aggregates (`basic`) with the same plus each flow's
 * first packets (`packets`): the shape that scans and brute force leave in a
 * flow's opening.
 *
 * Benign traffic: five benign captures of data/pcaps (web, SMTP, SSH) and the
 * 147 application captures of data/nfstream/pcaps (TLS, QUIC, DNS, VPNs,
 * games, IoT…), which carry no labels and are taken as benign background. A
 * seeded half of their flows trains; the other half is the benign test set,
 * together with the flows of the attack captures that no rule marks (their
 * rules' default: benign, or unknown, which is left out). All of this was
 * fixed before any run.
 *
 * @example
 * ```ts ignore
 * import { capturesSplit } from "./captures_protocol.ts";
 * const s = await capturesSplit({ features: "packets", seed: 1 });
 * console.log(s.train.rows, s.test.rows, s.counts);
 * ```
 * @module
 */
import { join } from "node:path";
import type { Matrix } from "../data/matrix.ts";
import { matrixToFrame } from "../data/preprocess.ts";
import { DATA_DIR } from "../data/source.ts";
import { corpusFiles, meterModelRows, modelColumns } from "../flows/corpus.ts";
import { featureSet, type FeatureSetName } from "../flows/features/mod.ts";
import { FLOW_KEY_COLUMNS, labelFlow, loadRules } from "../flows/label.ts";
import { Rng } from "../util/random.ts";
import { fitPreprocess } from "./prep.ts";

/** Which captures the protocol uses (paths relative to the data folder). */
export const CAPTURES_PROTOCOL = {
  benign: [
    "pcaps/http_espn.pcapng",
    "pcaps/zeek-http-bro.org.pcap",
    "pcaps/zeek-http-methods.pcap",
    "pcaps/zeek-smtp.pcap",
    "pcaps/zeek-ssh-ssh.pcap",
    "nfstream/pcaps",
  ],
  attacks: [
    { pcap: "pcaps/zeek-ftp-bruteforce.pcap", rules: "labels/zeek-ftp-bruteforce.json" },
    { pcap: "pcaps/synscan.pcapng", rules: "labels/synscan.json" },
    {
      pcap: "pcaps/stratosphere-test12-icmp-portscan.pcap",
      rules: "labels/stratosphere-test12-icmp-portscan.json",
    },
    { pcap: "pcaps/zeek-dhcp-dhcp_flood.pcap", rules: "labels/zeek-dhcp-dhcp_flood.json" },
  ],
  /** Share of the benign background flows that trains. */
  trainFraction: 0.5,
} as const;

/** A split of the protocol. */
export interface CapturesSplit {
  /** Benign training flows, signed-log and min–max scaled (fitted on them). */
  train: Matrix;
  test: Matrix;
  /** 1 = attack, per test row. */
  y: Int32Array;
  /** Attack name per test row ("" for benign). */
  attack: string[];
  counts: {
    trainBenign: number;
    testBenign: number;
    attacks: Record<string, number>;
    unknownLeftOut: number;
  };
}

interface Metered {
  x: number[];
  labels: { label: string; attack: string }[];
}

/** Meters one capture with `features`; labels each flow with `rules` when given. */
async function meter(path: string, features: FeatureSetName, rules?: string): Promise<Metered> {
  const at = featureSet(features).columns.map((c) => c.name);
  const key = FLOW_KEY_COLUMNS.map((n) => at.indexOf(n));
  const compiled = rules ? await loadRules(rules) : undefined;
  const out: Metered = { x: [], labels: [] };
  await meterModelRows(path, features, out.x, (row) => {
    if (!compiled) return void out.labels.push({ label: "benign", attack: "" });
    const [si, sp, di, dp, pr, t0, t1] = key.map((k) => row[k]);
    const l = labelFlow(compiled, {
      srcIp: String(si),
      srcPort: Number(sp),
      dstIp: String(di),
      dstPort: Number(dp),
      protocol: Number(pr),
      startUs: Number(t0) * 1000,
      endUs: Number(t1) * 1000,
    });
    out.labels.push({ label: l.label, attack: l.attack });
  });
  return out;
}

/**
 * Meters the protocol's captures into a split. Captures come from `captureDir` (default the
 * repository's data/, which vendors 98 of the 147 application captures; ../shared/data has all), the
 * rules files always from the repository's data/labels.
 */
export async function capturesSplit(
  o: { features?: FeatureSetName; seed?: number; captureDir?: string } = {},
): Promise<CapturesSplit> {
  const features = o.features ?? "basic";
  const dir = o.captureDir ?? DATA_DIR;
  const names = modelColumns(featureSet(features));
  const benign: number[] = [];
  for (const file of await corpusFiles(CAPTURES_PROTOCOL.benign.map((p) => join(dir, p)))) {
    append(benign, (await meter(file, features)).x, 0, Infinity);
  }
  const nB = benign.length / names.length;
  const order = Array.from({ length: nB }, (_, i) => i);
  new Rng(o.seed ?? 1).shuffle(order);
  const nTrain = Math.round(nB * CAPTURES_PROTOCOL.trainFraction);
  const rowsOf = (src: number[], ids: number[]) => {
    const d = new Float64Array(ids.length * names.length);
    ids.forEach((r, k) => d.set(src.slice(r * names.length, (r + 1) * names.length), k * names.length));
    return { data: d, rows: ids.length, cols: names.length, names };
  };
  const trainRaw = rowsOf(benign, order.slice(0, nTrain).sort((a, b) => a - b));
  const test: number[] = [];
  const attack: string[] = [];
  const testBenign = order.slice(nTrain).sort((a, b) => a - b);
  for (const r of testBenign) {
    append(test, benign, r * names.length, (r + 1) * names.length);
    attack.push("");
  }
  let unknownLeftOut = 0, benignInAttackCaptures = 0;
  const counts: Record<string, number> = {};
  for (const a of CAPTURES_PROTOCOL.attacks) {
    const m = await meter(join(dir, a.pcap), features, join(DATA_DIR, a.rules));
    m.labels.forEach((l, r) => {
      if (l.label === "unknown") return void unknownLeftOut++;
      append(test, m.x, r * names.length, (r + 1) * names.length);
      const isAttack = l.label !== "benign";
      attack.push(isAttack ? l.attack : "");
      if (isAttack) counts[l.attack] = (counts[l.attack] ?? 0) + 1;
      else benignInAttackCaptures++;
    });
  }
  const testRaw = rowsOf(test, Array.from({ length: attack.length }, (_, i) => i));
  const prep = fitPreprocess(matrixToFrame(trainRaw), { log1p: true, scale: "minmax", dropConstant: false });
  return {
    train: prep.train,
    test: prep.apply(matrixToFrame(testRaw)),
    y: Int32Array.from(attack, (a) => a ? 1 : 0),
    attack,
    counts: {
      trainBenign: prep.train.rows,
      testBenign: testBenign.length + benignInAttackCaptures,
      attacks: counts,
      unknownLeftOut,
    },
  };
}

/** Appends `from[start … end)` to `to` (a loop: a spread of a whole capture's values could overflow the stack). */
function append(to: number[], from: readonly number[], start: number, end: number): void {
  for (let i = start; i < Math.min(end, from.length); i++) to.push(from[i]);
}
