/**
 * Comparison tables of runs and published results: Markdown (terminal,
 * README), HTML (reviewers) and a figure (slides).
 *
 * By default one run per (protocol, detector, variant) is shown: the latest
 * full run by its recorded timestamp ({@link latestRuns}). No test metric
 * takes part in the choice, so a rerun that scores worse replaces the one
 * before it, and an older run cannot be kept for scoring better. `--quick`
 * runs are shown only when asked for at both steps:
 * `latestRuns(await loadRuns(root, { includeQuick: true }), { includeQuick: true })`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownTable } from "./compare.ts";
 * assert.ok(markdownTable([]).startsWith("| Protocol"));
 * ```
 * @module
 */
import { PUBLISHED } from "./published.ts";
import type { Run } from "./runs.ts";
import { relative } from "node:path";
import { InputError } from "../util/errors.ts";

/** One table row. */
export interface CompareRow {
  protocol: string;
  test_set: string;
  detector: string;
  f1?: number;
  precision?: number;
  recall?: number;
  accuracy?: number;
  fpr?: number;
  roc_auc?: number;
  pr_auc?: number;
  f1_oracle?: number;
  /** Half-widths of the 95 % confidence intervals of the seed means (Student t over seeds; 2+ seeds). */
  f1_ci95?: number;
  roc_auc_ci95?: number;
  seeds?: number;
  /** Run folder, or "published: <citation>". */
  source: string;
  published: boolean;
}

const PROTOCOL_ORDER = ["kddcup-dagmm", "kddcup-rev", "nsl-kdd", "cic-ids2017", "unsw-nb15"];

/**
 * When a run was recorded: the UTC stamp at the start of its folder name
 * (`20261123T120000Z-<sha>`, which sorts as text in time order). A folder name
 * without one sorts by its full name, before any stamped run.
 */
function recordedAt(run: Run): string {
  // The whole name after the time: runs of the same second then order by their `-2`, `-3` suffixes.
  return /^\d{8}T\d{6}Z/.test(run.stamp) ? `1${run.stamp}` : `0${run.stamp}`;
}

/**
 * The run shown per (protocol, detector, variant): the latest one by its
 * recorded timestamp, whatever its metrics. Quick runs are skipped even when
 * the caller loaded them (unless `includeQuick`), so a smoke test never
 * stands in for a config by accident.
 */
export function latestRuns(runs: Run[], opts: { includeQuick?: boolean } = {}): Run[] {
  const latest = new Map<string, Run>();
  for (const r of runs) {
    if (r.quick && !opts.includeQuick) continue;
    const k = `${r.protocol}\u0000${r.detector}\u0000${r.variant ?? ""}`;
    const cur = latest.get(k);
    if (!cur || recordedAt(r) > recordedAt(cur)) latest.set(k, r);
  }
  return [...latest.values()];
}

/** Two-sided 97.5 % quantiles of Student's t for 1–30 degrees of freedom (standard table values). */
const T975 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

/**
 * Half-width of the 95 % confidence interval of a mean over `n` seeds with sample standard deviation
 * `std`: t(0.975, n − 1) · std / √n. Undefined below 2 seeds (no spread to estimate).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seedCi95 } from "./compare.ts";
 * assert.equal(seedCi95(0.02, 5)?.toFixed(4), "0.0248");
 * assert.equal(seedCi95(0.02, 1), undefined);
 * ```
 */
export function seedCi95(std: number | undefined, n: number | undefined): number | undefined {
  if (std === undefined || !Number.isFinite(std) || n === undefined || n < 2) return undefined;
  return (T975[n - 2] ?? 1.96) * std / Math.sqrt(n);
}

/** Table rows for runs (every test set) plus the published rows of the protocols present. */
export function compareRows(runs: Run[], opts: { base?: string; published?: boolean } = {}): CompareRow[] {
  const rows: CompareRow[] = [];
  for (const r of runs) {
    for (const [set, m] of Object.entries(r.metrics)) {
      rows.push({
        protocol: r.protocol,
        test_set: String(m.test_set ?? set),
        detector: r.kind === "signature-ids"
          ? `${r.detector} (signatures)`
          : r.variant
          ? `${r.detector} [${r.variant}]`
          : r.detector,
        f1: m.f1,
        precision: m.precision,
        recall: m.recall,
        accuracy: m.accuracy,
        fpr: m.fpr,
        roc_auc: r.kind === "signature-ids" ? undefined : m.roc_auc,
        pr_auc: r.kind === "signature-ids" ? undefined : m.pr_auc,
        f1_oracle: r.kind === "signature-ids" ? undefined : m.f1_oracle,
        f1_ci95: seedCi95(m.std?.f1, m.n_seeds),
        roc_auc_ci95: r.kind === "signature-ids" ? undefined : seedCi95(m.std?.roc_auc, m.n_seeds),
        seeds: m.n_seeds,
        source: relative(opts.base ?? ".", r.dir),
        published: false,
      });
    }
  }
  if (opts.published ?? true) {
    const protocols = new Set(runs.map((r) => r.protocol));
    for (const p of PUBLISHED) {
      if (protocols.size && !protocols.has(p.protocol)) continue;
      rows.push({
        protocol: p.protocol,
        test_set: p.test_set,
        detector: `${p.method} (published)`,
        precision: p.precision,
        recall: p.recall,
        accuracy: p.accuracy,
        f1_oracle: p.f1_oracle,
        source: `published: ${p.citation.split(",")[0]} ${/\d{4}/.exec(p.citation)?.[0] ?? ""}, ${p.where}`,
        published: true,
      });
    }
  }
  const order = (p: string) => (PROTOCOL_ORDER.indexOf(p) + 1 || 99);
  return rows.sort((a, b) =>
    order(a.protocol) - order(b.protocol) || a.protocol.localeCompare(b.protocol) ||
    Number(a.test_set !== "test" && !a.test_set.endsWith("+")) -
      Number(b.test_set !== "test" && !b.test_set.endsWith("+")) ||
    a.test_set.localeCompare(b.test_set) || Number(a.published) - Number(b.published) ||
    a.detector.localeCompare(b.detector)
  );
}

const f3 = (
  v: number | undefined,
) => (v === undefined || v === null || !Number.isFinite(v) ? "–" : v.toFixed(3));
/** A mean with its 95 % half-width when there is one: "0.739 ± 0.031". */
const withCi = (v: number | undefined, ci: number | undefined) =>
  ci === undefined || v === undefined || !Number.isFinite(v) ? f3(v) : `${f3(v)} ± ${f3(ci)}`;

/** The Markdown table (also used for the README between the results markers). */
export function markdownTable(rows: CompareRow[]): string {
  const head = [
    "Protocol",
    "Test set",
    "Detector",
    "F1",
    "Precision",
    "Recall",
    "Accuracy",
    "FPR",
    "AUROC",
    "AUPRC",
    "F1 (oracle)",
    "Seeds",
    "Source",
  ];
  const right = [false, false, false, true, true, true, true, true, true, true, true, true, false];
  const cells = rows.map((r) => [
    r.protocol,
    r.test_set,
    r.detector,
    withCi(r.f1, r.f1_ci95),
    f3(r.precision),
    f3(r.recall),
    f3(r.accuracy),
    f3(r.fpr),
    withCi(r.roc_auc, r.roc_auc_ci95),
    f3(r.pr_auc),
    f3(r.f1_oracle),
    String(r.seeds ?? "–"),
    r.published ? r.source : `\`${r.source}\``,
  ]);
  return alignedTable(head, right, cells);
}

/**
 * A Markdown table padded the way `deno fmt` pads one (columns as wide as
 * their widest cell, numbers right-aligned), so a generated README block is
 * already formatted and `deno fmt --check` agrees with the generator.
 */
export function alignedTable(head: string[], right: boolean[], rows: string[][]): string {
  const len = (s: string) => [...s].length;
  const w = head.map((h, j) => rows.reduce((m, r) => Math.max(m, len(r[j])), Math.max(3, len(h))));
  const pad = (s: string, j: number) => {
    const fill = " ".repeat(w[j] - len(s));
    return right[j] ? fill + s : s + fill;
  };
  const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const sep = `| ${w.map((n, j) => right[j] ? "-".repeat(n - 1) + ":" : "-".repeat(n)).join(" | ")} |`;
  return [line(head), sep, ...rows.map(line)].join("\n");
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A self-contained HTML page: the table plus the comparison figure (inline SVG). */
export function htmlPage(rows: CompareRow[], svg?: string): string {
  const cols = [
    "protocol",
    "test_set",
    "detector",
    "f1",
    "precision",
    "recall",
    "accuracy",
    "fpr",
    "roc_auc",
    "pr_auc",
    "f1_oracle",
    "seeds",
    "source",
  ] as const;
  const th = cols.map((c) => `<th>${c}</th>`).join("");
  const tr = rows.map((r) =>
    `<tr class="${r.published ? "published" : ""}">` +
    cols.map((c) => {
      const v = r[c];
      if (c === "f1" || c === "roc_auc") return `<td>${withCi(r[c], r[`${c}_ci95`])}</td>`;
      return `<td>${typeof v === "number" && c !== "seeds" ? f3(v) : esc(String(v ?? "–"))}</td>`;
    }).join("") + "</tr>"
  ).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nadir — results comparison</title>
<style>
body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:2rem;color:#111}
table{border-collapse:collapse;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
td:nth-child(-n+3),td:last-child,th{text-align:left}tr.published{background:#f3f3f3;font-style:italic}
figure{margin:2rem 0;max-width:1200px}figure svg{width:100%;height:auto}
</style></head><body>
<h1>nadir — results comparison</h1>
<p>Headline F1/precision/recall use a threshold fit on benign training-side validation scores only.
"F1 (oracle)" sets the threshold from the known test anomaly ratio (as DAGMM and GOAD report) and is for comparison with those papers only.
Grey rows are published figures (see docs/baselines.md).</p>
<table><thead><tr>${th}</tr></thead><tbody>
${tr}
</tbody></table>
${svg ? `<figure>${svg}</figure>` : ""}
</body></html>
`;
}

/** Replaces the text between `<!-- NAME:start -->` and `<!-- NAME:end -->` (NAME default "results"). */
export function replaceBetweenMarkers(text: string, body: string, name = "results"): string {
  const start = `<!-- ${name}:start -->`, end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start), j = text.indexOf(end);
  if (i < 0 || j < 0 || j < i) {
    throw new InputError(`expected the markers ${start} and ${end} (in that order) around the results block`);
  }
  // A blank line before the end marker: deno fmt separates the closing HTML comment from a paragraph.
  return text.slice(0, i + start.length) + "\n" + body.trim() + "\n\n" + text.slice(j);
}

/** The README block: a note plus the table. */
export function readmeBlock(rows: CompareRow[]): string {
  return [
    "<!-- generated by `deno task nadir compare --update-readme`; do not edit by hand -->",
    "",
    markdownTable(rows),
    "",
    "F1/precision/recall/accuracy/FPR: threshold fit on benign validation rows of the training data only. " +
    "F1 (oracle): threshold from the known test anomaly ratio (DAGMM/GOAD convention), for comparison with papers only. " +
    "Values are means over the seeds; ± is the 95 % confidence interval of that mean (Student t over seeds). " +
    "Signature rows: Snort 3 alerts matched to flows by 5-tuple within each flow's time window (docs/ids.md). " +
    "The Snort `covered` row keeps only flows inside each alert file's first-to-last alert span (± tolerance): " +
    "coverage is derived from the alerts themselves, so it is optimistic by construction — a stretch of traffic " +
    "Snort saw but raised nothing on counts as uncovered (docs/ids.md).",
  ].join("\n");
}
