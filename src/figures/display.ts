/**
 * Display helpers for the Deno Jupyter kernel: {@link show} for figures and
 * anything with a mime bundle, {@link table} for small HTML tables, and
 * {@link md} for Markdown-ish notes. Each output carries `text/html` (what
 * reports render) plus a plain/SVG alternative.
 *
 * Outside a kernel (`deno run`, tests) `show` prints the plain-text form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mimeBundle, table } from "./display.ts";
 * const t = table([{ class: "DoS", recall: 0.91 }]);
 * // What the kernel gets through Symbol.for("Jupyter.display").
 * assert.ok(mimeBundle(t)?.["text/html"].startsWith("<table"));
 * assert.equal(String(t), "class  recall\nDoS      0.91");
 * ```
 * @module
 */
import { escapeXml, type Provenance, provenanceLine } from "./figure.ts";

/** Mime type of the provenance note a notebook displays; the report footer reads it. */
export const PROVENANCE_MIME = "application/vnd.nadir.provenance+json";

const DISPLAY = Symbol.for("Jupyter.display");

/** Anything the kernel can display through `Symbol.for("Jupyter.display")`. */
export interface Displayable {
  [key: symbol]: () => Record<string, string>;
}

/**
 * The mime bundle of a displayable (figure, table, ...), or undefined for plain values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MimeBundle, mimeBundle } from "./display.ts";
 * assert.deepEqual(mimeBundle(new MimeBundle({ "text/plain": "hi" })), { "text/plain": "hi" });
 * assert.equal(mimeBundle(42), undefined);
 * ```
 */
export function mimeBundle(obj: unknown): Record<string, string> | undefined {
  if (obj === null || typeof obj !== "object" || !(DISPLAY in obj)) return undefined;
  return (obj as Displayable)[DISPLAY]();
}

/** A mime bundle wrapped so the kernel displays it. */
export class MimeBundle {
  constructor(readonly bundle: Record<string, string>) {}
  [Symbol.for("Jupyter.display")](): Record<string, string> {
    return this.bundle;
  }
  toString(): string {
    return this.bundle["text/plain"] ?? this.bundle["text/html"] ?? "";
  }
}

interface JupyterNs {
  display?: (obj: unknown, opts?: { raw?: boolean; update?: boolean; display_id?: string }) => Promise<void>;
}

/**
 * Displays `obj` now (not only as the cell's last value): figures, tables and
 * other displayables go through the kernel's rich display; outside a kernel
 * the plain text is printed.
 */
export async function show(obj: unknown): Promise<void> {
  const jup = (Deno as unknown as { jupyter?: JupyterNs }).jupyter;
  const has = obj !== null && typeof obj === "object" && DISPLAY in (obj as object);
  if (jup?.display && has) {
    const bundle = (obj as Displayable)[DISPLAY]();
    await jup.display(bundle, { raw: true });
    return;
  }
  if (jup?.display) {
    await jup.display(obj);
    return;
  }
  if (has) {
    const b = (obj as Displayable)[DISPLAY]();
    console.log(b["text/plain"] ?? `[${Object.keys(b).join(", ")}]`);
  } else console.log(obj);
}

/**
 * Formats a cell value: numbers to 4 significant digits, thousands separated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCell } from "./display.ts";
 * assert.deepEqual([1234567, 0.123456789, 1e-6, null].map((v) => formatCell(v)), ["1,234,567", "0.1235", "1.00e-6", ""]);
 * ```
 */
export function formatCell(v: unknown, digits = 4): string {
  if (typeof v === "number") {
    if (Number.isInteger(v)) return v.toLocaleString("en-US");
    if (!Number.isFinite(v)) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-4 || a >= 1e9)) return v.toExponential(2);
    return Number(v.toPrecision(digits)).toLocaleString("en-US", { maximumFractionDigits: 8 });
  }
  if (typeof v === "bigint") return v.toLocaleString("en-US");
  if (v instanceof Date) return v.toISOString();
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * A table of row objects (columns = keys of the first rows, or `columns`) for
 * display: HTML for notebooks/reports, aligned text for terminals. At most
 * `maxRows` rows are shown (a note says how many were left out).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { table } from "./display.ts";
 * const rows = Array.from({ length: 5 }, (_, i) => ({ epoch: i + 1, loss: 1 / (i + 1) }));
 * const t = table(rows, { maxRows: 2, caption: "Loss" });
 * assert.equal(String(t), "epoch  loss\n    1     1\n    2   0.5\n... 3 more rows");
 * assert.ok(t.bundle["text/html"].includes("<caption>Loss</caption>"));
 * ```
 */
export function table(
  records: readonly object[],
  opts: { columns?: string[]; maxRows?: number; caption?: string; digits?: number } = {},
): MimeBundle {
  const rows = records as readonly Record<string, unknown>[];
  const cols = opts.columns ?? [...new Set(rows.slice(0, 50).flatMap((r) => Object.keys(r)))];
  const max = opts.maxRows ?? 50;
  const shown = rows.slice(0, max);
  const cell = (v: unknown) => formatCell(v, opts.digits);
  const num = (v: unknown) => typeof v === "number" || typeof v === "bigint";
  const html = [
    `<table class="nadir-table">`,
    opts.caption ? `<caption>${escapeXml(opts.caption)}</caption>` : "",
    `<thead><tr>${cols.map((c) => `<th>${escapeXml(c)}</th>`).join("")}</tr></thead><tbody>`,
    ...shown.map((r) =>
      `<tr>${
        cols.map((c) => `<td${num(r[c]) ? ' style="text-align:right"' : ""}>${escapeXml(cell(r[c]))}</td>`)
          .join("")
      }</tr>`
    ),
    `</tbody></table>`,
    rows.length > max ? `<p><em>${rows.length - max} more rows not shown</em></p>` : "",
  ].join("");
  const widths = cols.map((c) => shown.reduce((m, r) => Math.max(m, cell(r[c]).length), c.length));
  const text = [
    cols.map((c, i) => c.padEnd(widths[i])).join("  "),
    ...shown.map((r) =>
      cols.map((c, i) => num(r[c]) ? cell(r[c]).padStart(widths[i]) : cell(r[c]).padEnd(widths[i])).join("  ")
    ),
    ...(rows.length > max ? [`... ${rows.length - max} more rows`] : []),
  ].join("\n");
  return new MimeBundle({ "text/html": html, "text/plain": text });
}

/**
 * A short Markdown note rendered as HTML (paragraphs, **bold**, `code`, bullet lists only).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { md } from "./display.ts";
 * assert.equal(md("**k** = `5`\n\n- a\n- b").bundle["text/html"], "<p><strong>k</strong> = <code>5</code></p><ul><li>a</li><li>b</li></ul>");
 * ```
 */
export function md(text: string): MimeBundle {
  const inline = (s: string) =>
    escapeXml(s).replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>").replace(/`([^`]+)`/g, "<code>$1</code>");
  const blocks = text.trim().split(/\n\s*\n/).map((b) => {
    const lines = b.split("\n");
    if (lines.every((l) => /^\s*[-*] /.test(l))) {
      return `<ul>${lines.map((l) => `<li>${inline(l.replace(/^\s*[-*] /, ""))}</li>`).join("")}</ul>`;
    }
    return `<p>${inline(b)}</p>`;
  });
  return new MimeBundle({ "text/html": blocks.join(""), "text/plain": text.trim() });
}

/**
 * A provenance note for notebooks: shows one line (git sha, data sha256,
 * version, date) and carries the record under {@link PROVENANCE_MIME}, which
 * the HTML report (scripts/nbhtml.py) puts in its footer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PROVENANCE_MIME, provenanceNote } from "./display.ts";
 * const note = provenanceNote({ gitSha: "abc1234", version: "0.1.0" });
 * assert.equal(String(note), "git abc1234 · nadir 0.1.0");
 * assert.equal(JSON.parse(note.bundle[PROVENANCE_MIME]).gitSha, "abc1234");
 * ```
 */
export function provenanceNote(p: Provenance): MimeBundle {
  const line = provenanceLine(p);
  return new MimeBundle({
    [PROVENANCE_MIME]: JSON.stringify(p),
    "text/html": `<p class="nadir-provenance"><small>${escapeXml(line)}</small></p>`,
    "text/plain": line,
  });
}
