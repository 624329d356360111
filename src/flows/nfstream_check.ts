/**
 * Compares nadir's flows with NFStream's expected per-flow output: the
 * multiset of (bidirectional_packets, bidirectional_bytes) per capture.
 * Used by the conformance test and by `deno task bench flows`.
 *
 * @module
 */
import { forEachPacket } from "../capture/reader.ts";
import { FlowMeter, type MeterOptions } from "./meter.ts";

/** Result for one capture. */
export interface CaptureMatch {
  name: string;
  expected: number;
  produced: number;
  matched: number;
  /** (packets,bytes) pairs NFStream has and nadir lacks, and the reverse (first few). */
  missing: string[];
  extra: string[];
}

/** Parses NFStream's expected CSV (`id,bidirectional_packets,bidirectional_bytes,...`). */
export function parseExpected(text: string, file: string): string[] {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const head = lines[0].split(",");
  const ip = head.indexOf("bidirectional_packets"), ib = head.indexOf("bidirectional_bytes");
  if (ip < 0 || ib < 0) {
    throw new Error(`${file}: expected bidirectional_packets and bidirectional_bytes columns`);
  }
  return lines.slice(1).map((l) => {
    const c = l.split(",");
    return `${c[ip]},${c[ib]}`;
  });
}

function multisetDiff(a: string[], b: string[]): { common: number; onlyA: string[]; onlyB: string[] } {
  const m = new Map<string, number>();
  for (const x of a) m.set(x, (m.get(x) ?? 0) + 1);
  let common = 0;
  const onlyB: string[] = [];
  for (const x of b) {
    const c = m.get(x) ?? 0;
    if (c > 0) {
      m.set(x, c - 1);
      common++;
    } else onlyB.push(x);
  }
  const onlyA: string[] = [];
  for (const [k, c] of m) for (let i = 0; i < c; i++) onlyA.push(k);
  return { common, onlyA, onlyB };
}

/** Meters one capture with NFStream's defaults and compares with its expected CSV. */
export async function matchCapture(
  pcap: string,
  expectedCsv: string,
  name: string,
  opts: Partial<MeterOptions> = {},
): Promise<CaptureMatch> {
  const expected = parseExpected(await Deno.readTextFile(expectedCsv), expectedCsv);
  const produced: string[] = [];
  const meter = new FlowMeter({
    nfstreamBytes16: true,
    ...opts,
    onFlow: (f) => produced.push(`${f.packets},${f.bytes}`),
  });
  await forEachPacket(pcap, (p) => meter.add(p));
  meter.flush();
  const d = multisetDiff(expected, produced);
  return {
    name,
    expected: expected.length,
    produced: produced.length,
    matched: d.common,
    missing: d.onlyA.slice(0, 8),
    extra: d.onlyB.slice(0, 8),
  };
}

/** Lists `<dir>/pcaps/*` that have `<dir>/expected/<name>.csv`. */
export function listCaptures(dir: string): { name: string; pcap: string; csv: string }[] {
  const out: { name: string; pcap: string; csv: string }[] = [];
  for (const e of Deno.readDirSync(`${dir}/pcaps`)) {
    const csv = `${dir}/expected/${e.name}.csv`;
    try {
      Deno.statSync(csv);
    } catch {
      continue;
    }
    out.push({ name: e.name, pcap: `${dir}/pcaps/${e.name}`, csv });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Pooled result over a set of captures. */
export interface MatchSummary {
  captures: number;
  expected: number;
  produced: number;
  matched: number;
  /** matched / (expected + produced − matched): flows missing on either side count against it. */
  rate: number;
  differing: CaptureMatch[];
}

/** Compares every capture of `<dir>/pcaps` with `<dir>/expected`. */
export async function matchAll(dir: string, opts: Partial<MeterOptions> = {}): Promise<MatchSummary> {
  const s: MatchSummary = { captures: 0, expected: 0, produced: 0, matched: 0, rate: 0, differing: [] };
  for (const c of listCaptures(dir)) {
    const r = await matchCapture(c.pcap, c.csv, c.name, opts);
    s.captures++;
    s.expected += r.expected;
    s.produced += r.produced;
    s.matched += r.matched;
    if (r.matched !== r.expected || r.produced !== r.expected) s.differing.push(r);
  }
  const union = s.expected + s.produced - s.matched;
  s.rate = union > 0 ? s.matched / union : 1;
  return s;
}

/** One line per differing capture. */
export function describeDiffs(s: MatchSummary): string {
  return s.differing.map((r) =>
    `  ${r.name}: NFStream ${r.expected} flows, nadir ${r.produced}, equal ${r.matched}; ` +
    `only NFStream [${r.missing.join(" ")}] only nadir [${r.extra.join(" ")}]`
  ).join("\n");
}
