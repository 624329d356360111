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
import { relativePaths } from "./provenance.ts";
import { jupyterDisplay } from "../util/progress.ts";

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

/**
 * Displays `obj` now (not only as the cell's last value): figures, tables and
 * other displayables go through the kernel's rich display; outside a kernel
 * the plain text is printed.
 */
export async function show(obj: unknown): Promise<void> {
  const display = jupyterDisplay();
  const has = obj !== null && typeof obj === "object" && DISPLAY in (obj as object);
  if (display && has) {
    const bundle = (obj as Displayable)[DISPLAY]();
    await display(bundle, { raw: true });
    return;
  }
  if (display) {
    await display(obj, {});
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
 * `maxRows` rows are shown (a note says how many were left out). A missing
 * value (undefined or null) shows as `missing` (default empty; "–" marks
 * "not available" the way the README's tables do). Absolute paths in cells and
 * the caption are shown relative ({@link relativePaths}).
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
  records: readonly object[] | FrameLike,
  opts: { columns?: string[]; maxRows?: number; caption?: string; digits?: number; missing?: string } = {},
): MimeBundle {
  if (isFrame(records)) {
    const f = opts.columns ? records.select(opts.columns) : records;
    return frame(f, { maxRows: opts.maxRows, caption: opts.caption, digits: opts.digits });
  }
  const rows = records as readonly Record<string, unknown>[];
  const cols = opts.columns ?? [...new Set(rows.slice(0, 50).flatMap((r) => Object.keys(r)))];
  const max = opts.maxRows ?? 50;
  const shown = rows.slice(0, max);
  const cell = (v: unknown) =>
    v === undefined || v === null ? (opts.missing ?? "") : relativePaths(formatCell(v, opts.digits));
  const num = (v: unknown) => typeof v === "number" || typeof v === "bigint";
  const html = [
    `<table class="nadir-table">`,
    opts.caption ? `<caption>${escapeXml(relativePaths(opts.caption))}</caption>` : "",
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
 * The part of a nodejs-polars DataFrame that {@link frame} reads — typed structurally, so this module does
 * not load polars (figures are drawn in processes that never read a table).
 */
export interface FrameLike {
  readonly height: number;
  readonly width: number;
  readonly columns: string[];
  readonly dtypes: readonly unknown[];
  head(n: number): { toRecords(): Record<string, unknown>[] };
  tail(n: number): { toRecords(): Record<string, unknown>[] };
  select(columns: string[]): FrameLike;
}

function isFrame(v: unknown): v is FrameLike {
  const f = v as FrameLike;
  return !Array.isArray(v) && typeof f?.height === "number" && typeof f?.head === "function" &&
    Array.isArray(f?.columns);
}

/** `DataType(Float64)` → `f64`, the short names polars itself prints. */
function dtypeName(t: unknown): string {
  const name = String(t).replace(/^DataType\((.*)\)$/, "$1");
  const m = /^(U?Int|Float)(\d+)$/.exec(name);
  if (m) return `${m[1] === "Float" ? "f" : m[1] === "UInt" ? "u" : "i"}${m[2]}`;
  return ({ String: "str", Utf8: "str", Boolean: "bool", Categorical: "cat" } as Record<string, string>)[
    name
  ] ??
    name.toLowerCase();
}

/**
 * A DataFrame for display, the way pandas shows one: the shape, a dtype row under the header, the first
 * and last rows around a "…" row when there are more than `maxRows` (default 10), the first and last
 * columns around a "…" column when there are more than `maxCols` (default 20), and numbers to `digits`
 * significant digits (default 4) — so 45 columns of 19.50406039389393 do not run off the page.
 * {@link table} hands DataFrames here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { frame } from "./display.ts";
 * const df = pl.DataFrame({ dur: [0.123456, 2, 3, 4], proto: ["tcp", "udp", null, "icmp"] });
 * const t = frame(df, { maxRows: 2 });
 * assert.equal(
 *   String(t),
 *   "4 rows × 2 columns\n" +
 *     "   dur  proto\n" +
 *     "   f64  str  \n" +
 *     "0.1235  tcp  \n" +
 *     "     …  …    \n" +
 *     "     4  icmp ",
 * );
 * assert.ok(t.bundle["text/html"].includes("<caption>4 rows × 2 columns</caption>"));
 * ```
 */
export function frame(
  df: FrameLike,
  opts: { maxRows?: number; maxCols?: number; caption?: string; digits?: number } = {},
): MimeBundle {
  const maxRows = Math.max(2, opts.maxRows ?? 10), maxCols = Math.max(2, opts.maxCols ?? 20);
  const ELLIPSIS = "…";
  const colIdx = df.width > maxCols
    ? [
      ...Array(Math.ceil(maxCols / 2)).keys(),
      -1,
      ...Array.from({ length: Math.floor(maxCols / 2) }, (_, i) => df.width - Math.floor(maxCols / 2) + i),
    ]
    : [...Array(df.width).keys()];
  const cols = colIdx.map((i) => (i < 0 ? ELLIPSIS : df.columns[i]));
  const types = colIdx.map((i) => (i < 0 ? "" : dtypeName(df.dtypes[i])));
  const cut = df.height > maxRows;
  const records = cut
    ? [
      ...df.head(Math.ceil(maxRows / 2)).toRecords(),
      undefined,
      ...df.tail(Math.floor(maxRows / 2)).toRecords(),
    ]
    : df.head(df.height).toRecords();
  // Cells as text (missing = empty); numeric columns right-aligned, the "…" row and column included.
  const isNum = types.map((t) => /^[uif]\d/.test(t));
  const grid = records.map((r) =>
    colIdx.map((i) => {
      const v = r && i >= 0 ? r[df.columns[i]] : ELLIPSIS;
      return v === null || v === undefined
        ? ""
        : v === ELLIPSIS
        ? v
        : relativePaths(formatCell(v, opts.digits));
    })
  );
  const shape = `${df.height.toLocaleString("en-US")} rows × ${df.width.toLocaleString("en-US")} columns`;
  const caption = opts.caption ? `${relativePaths(opts.caption)} (${shape})` : shape;
  const html = [
    `<table class="nadir-table">`,
    `<caption>${escapeXml(caption)}</caption>`,
    `<thead><tr>${cols.map((c) => `<th>${escapeXml(c)}</th>`).join("")}</tr>`,
    `<tr>${types.map((t) => `<th style="font-weight:normal"><em>${escapeXml(t)}</em></th>`).join("")}</tr>`,
    `</thead><tbody>`,
    ...grid.map((row) =>
      `<tr>${
        row.map((c, j) => `<td${isNum[j] ? ' style="text-align:right"' : ""}>${escapeXml(c)}</td>`).join("")
      }</tr>`
    ),
    `</tbody></table>`,
  ].join("");
  const widths = cols.map((c, j) =>
    grid.reduce((m, row) => Math.max(m, row[j].length), Math.max(c.length, types[j].length))
  );
  const line = (cells: string[]) =>
    cells.map((c, j) => (isNum[j] ? c.padStart(widths[j]) : c.padEnd(widths[j]))).join("  ");
  const text = [caption, line(cols), line(types), ...grid.map(line)].join(
    "\n",
  );
  return new MimeBundle({ "text/html": html, "text/plain": text });
}

/** Inline Markdown: `code`, **bold**, *emphasis* / _emphasis_ and [links](url); the rest is escaped. */
function inlineMd(s: string): string {
  return s.split(/(`[^`]+`)/).map((part, i) => {
    if (i % 2) return `<code>${escapeXml(part.slice(1, -1))}</code>`;
    return escapeXml(part)
      .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
      .replace(/(?<![\w*])\*(?![\s*])(.+?)(?<![\s*])\*(?![\w*])/g, "<em>$1</em>")
      .replace(/(?<![\w_])_(?![\s_])(.+?)(?<![\s_])_(?![\w_])/g, "<em>$1</em>")
      .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, '<a href="$2">$1</a>');
  }).join("");
}

const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])( +|$)(.*)$/;
const FENCE = /^ {0,3}```/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])( *\1){2,}\s*$/;
const indentOf = (l: string) => l.length - l.trimStart().length;

/**
 * Whether `line` starts a block that ends a paragraph (and a lazy list
 * continuation). As in CommonMark, a numbered item interrupts a paragraph only
 * when it is "1." (so a wrapped line starting "2009. " stays text).
 */
function startsBlock(line: string): boolean {
  const item = LIST_ITEM.exec(line);
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || /^ {0,3}>/.test(line) ||
    (item !== null && (!/\d/.test(item[2]) || /^1[.)]$/.test(item[2])));
}

/**
 * Markdown blocks to HTML: headings, paragraphs, fenced code, rules, quotes and
 * bullet/numbered lists whose items may wrap onto continuation lines — indented
 * or not ("lazy") — and hold nested lists or several paragraphs.
 */
function blocksHtml(lines: string[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    if (FENCE.test(line)) {
      let j = i + 1;
      while (j < lines.length && !FENCE.test(lines[j])) j++;
      out.push(`<pre><code>${escapeXml(lines.slice(i + 1, j).join("\n"))}</code></pre>`);
      i = j + 1;
      continue;
    }
    const h = HEADING.exec(line);
    if (h) {
      out.push(`<h${h[1].length}>${inlineMd(h[2])}</h${h[1].length}>`);
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push("<hr>");
      i++;
      continue;
    }
    if (/^ {0,3}>/.test(line)) {
      const quote: string[] = [];
      while (i < lines.length && lines[i].trim() && (/^ {0,3}>/.test(lines[i]) || !startsBlock(lines[i]))) {
        quote.push(lines[i].replace(/^ {0,3}> ?/, ""));
        i++;
      }
      out.push(`<blockquote>${blocksHtml(quote)}</blockquote>`);
      continue;
    }
    if (LIST_ITEM.test(line)) {
      i = listHtml(lines, i, out);
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i].trim() && (para.length === 0 || !startsBlock(lines[i]))) {
      para.push(lines[i].trim());
      i++;
    }
    out.push(`<p>${inlineMd(para.join(" "))}</p>`);
  }
  return out.join("");
}

/** One list starting at `lines[start]` into `out`; returns the index after it. */
function listHtml(lines: string[], start: number, out: string[]): number {
  const head = LIST_ITEM.exec(lines[start])!;
  const indent = head[1].length;
  const ordered = /\d/.test(head[2]);
  const items: string[][] = [];
  let loose = false;
  let i = start;
  while (i < lines.length) {
    const line = lines[i];
    const m = LIST_ITEM.exec(line);
    if (m && m[1].length <= indent + 1) {
      if (/\d/.test(m[2]) !== ordered) break; // another kind of list starts
      items.push([m[4]]);
      const content = m[1].length + m[2].length + Math.max(1, Math.min(m[3].length, 4));
      i++;
      // The item's other lines: indented ones, lazy ones right after text, blank lines inside it.
      while (i < lines.length) {
        const l = lines[i];
        if (!l.trim()) {
          let j = i;
          while (j < lines.length && !lines[j].trim()) j++;
          // After a blank line only lines indented to the item's text belong to it (a new paragraph or list).
          if (j < lines.length && indentOf(lines[j]) >= Math.min(content, indent + 2)) {
            items.at(-1)!.push("");
            loose = true;
            i = j;
            continue;
          }
          break;
        }
        const sub = LIST_ITEM.exec(l);
        // The next item of this list, or another list starting.
        if (sub && sub[1].length <= indent + 1 && (/\d/.test(sub[2]) === ordered || startsBlock(l))) break;
        if (indentOf(l) > indent) {
          items.at(-1)!.push(l.slice(Math.min(indentOf(l), content)));
        } else if (items.at(-1)!.at(-1)!.trim() && !startsBlock(l)) {
          items.at(-1)!.push(l.trim()); // lazy continuation of the item's paragraph
        } else break;
        i++;
      }
      // A blank line between two items makes the list loose (items keep their paragraphs).
      let j = i;
      while (j < lines.length && !lines[j].trim()) j++;
      const next = j < lines.length ? LIST_ITEM.exec(lines[j]) : null;
      if (next && next[1].length <= indent + 1 && /\d/.test(next[2]) === ordered) {
        if (j > i) loose = true;
        i = j;
      } else break;
    } else break;
  }
  const lis = items.map((it) => {
    const html = blocksHtml(it);
    const tight = !loose && html.startsWith("<p>");
    return `<li>${tight ? html.replace(/^<p>(.*?)<\/p>/s, "$1") : html}</li>`;
  });
  const startAt = ordered ? Number(head[2].slice(0, -1)) : 1;
  const tag = ordered ? "ol" : "ul";
  out.push(`<${tag}${startAt !== 1 ? ` start="${startAt}"` : ""}>${lis.join("")}</${tag}>`);
  return i;
}

/**
 * A Markdown note rendered as HTML: paragraphs, headings, **bold**, *emphasis*,
 * `code`, [links](url), fenced code, quotes and bullet or numbered lists whose
 * items wrap onto continuation lines (indented or not). Absolute paths under
 * the repository, the report folder, `$TMPDIR` or `~` are shown relative
 * ({@link relativePaths}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { md } from "./display.ts";
 * assert.equal(md("**k** = `5`\n\n- a\n- b").bundle["text/html"], "<p><strong>k</strong> = <code>5</code></p><ul><li>a</li><li>b</li></ul>");
 * assert.equal(
 *   md("- **One.** wraps\n  onto a second line\nand a lazy third\n- two").bundle["text/html"],
 *   "<ul><li><strong>One.</strong> wraps onto a second line and a lazy third</li><li>two</li></ul>",
 * );
 * ```
 */
export function md(text: string): MimeBundle {
  const src = relativePaths(text).replace(/\r\n?/g, "\n").replace(/\t/g, "    ").trim();
  return new MimeBundle({ "text/html": blocksHtml(src.split("\n")), "text/plain": src });
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
  p = Object.fromEntries(
    Object.entries(p).map(([k, v]) => [k, typeof v === "string" ? relativePaths(v) : v]),
  ) as Provenance;
  const line = provenanceLine(p);
  return new MimeBundle({
    [PROVENANCE_MIME]: JSON.stringify(p),
    "text/html": `<p class="nadir-provenance"><small>${escapeXml(line)}</small></p>`,
    "text/plain": line,
  });
}
