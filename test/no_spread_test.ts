/**
 * Guards against stack overflows on large inputs (issue 19). Spreading an
 * array into a call — `Math.max(...xs)`, `out.push(...rows)`,
 * `String.fromCharCode(...bytes)`, `new Foo(...args)` — or passing it to
 * `fn.apply(this, xs)` puts every element on the stack as an argument; from
 * ~120 k elements V8 throws "RangeError: Maximum call stack size exceeded".
 * `nadir ids parse` crashed that way on 130 k alerts and the monitor would not
 * start on a 200 k-line webhook spool.
 *
 * The scan parses every module under src/ with Deno's own parser (through
 * `Deno.lint.runPlugin`, so it sees real syntax: rest parameters, array and
 * object spreads are not calls) and fails naming file:line for each spread
 * argument or two-argument `.apply` call that is not on the allow-list below.
 * An allow-list entry names the file, the exact call text and why the array
 * is provably small; an entry that no longer matches anything fails too, so
 * the list cannot rot.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { ROOT } from "./_shared.ts";

/** A call that may spread, with the reason its array is small. */
interface Allowed {
  file: string;
  /** Source text of the whole call expression, whitespace-collapsed (see {@link scan}). */
  call: string;
  /** Match calls whose text starts with `call` (for long multi-line calls). */
  prefix?: boolean;
  reason: string;
}

const COLUMNS =
  "columns, not rows: names from the dataset's declared schema (tens of columns), never one per record";

const ALLOWED: Allowed[] = [
  {
    file: "src/cli/capture.ts",
    call: "Math.max(h.length, ...rows.map((r) => r[c].length))",
    reason: "one row per network interface of this machine",
  },
  {
    file: "src/data/cicids2017.ts",
    call: "df.select(...df.columns.filter((c) => !c.startsWith(DROP_PREFIX)))",
    reason: COLUMNS + " (the header is checked by cicHeader)",
  },
  {
    file: "src/data/preprocess.ts",
    call: "df.select(...subset)",
    reason: COLUMNS + " (features + targets, or a model's inputs)",
  },
  {
    file: "src/data/preprocess.ts",
    call: "input.select(...targets)",
    reason: "TARGET_COLUMNS (a fixed list)",
  },
  { file: "src/data/source.ts", call: "df.select(...cols)", reason: COLUMNS },
  { file: "src/data/unsw_nb15.ts", call: "df.withColumns(...cols)", reason: COLUMNS + " (UNSW-NB15's 49)" },
  {
    file: "src/data/unsw_nb15.ts",
    call: "df.select(...UNSW_COLUMNS)",
    reason: "UNSW_COLUMNS (a fixed list)",
  },
  { file: "src/eval/prep.ts", call: "df.withColumns(...cols)", reason: COLUMNS + " (numeric features)" },
  { file: "src/eval/search.ts", call: "df.select(...cols)", reason: COLUMNS + " (one permuted column each)" },
  { file: "src/eval/search.ts", call: "anomalies.select(...cols)", reason: COLUMNS },
  {
    file: "src/flows/label.ts",
    call: "groups.splice(6, 2, ...tail)",
    reason: "tail is the 2 groups of an IPv4-mapped IPv6 suffix",
  },
  {
    file: "src/serve/rules.ts",
    call: "groups.splice(6, 2, ...tail)",
    reason: "tail is the 2 groups of an IPv4-mapped IPv6 suffix",
  },
  {
    file: "src/serve/dashboard/app.js",
    call: "body.replaceChildren(...rows)",
    reason: "rows = state.alerts.slice(0, 200): at most 200 table rows",
  },
  {
    file: "src/serve/dashboard/app.js",
    call: 'document.getElementById("detailFields").replaceChildren(...fields.flatMap(',
    prefix: true,
    reason: "the fields of one alert (a fixed list plus the sensor's few extra keys)",
  },
  {
    file: "src/serve/dashboard/app.js",
    call: 'document.getElementById("detailFeatures").replaceChildren(...(a.top_features || []).map(',
    prefix: true,
    reason: "an alert's top features (monitor option topFeatures, default 5; at most the model's inputs)",
  },
  {
    file: "src/cli.ts",
    call: "Math.max(...COMMANDS.map((c) => c.name.length))",
    reason: "one entry per top-level CLI command (a fixed list in the source)",
  },
  {
    file: "src/cli/command.ts",
    call: "Math.max(...cmd.subcommands.map((c) => c.name.length))",
    reason: "subcommands of one command (declared in the source)",
  },
  {
    file: "src/cli/command.ts",
    call: "Math.max(...cmd.positionals.map((p) => p.name.length))",
    reason: "positional arguments of one command (declared in the source)",
  },
  {
    file: "src/cli/command.ts",
    call: "Math.max(...opts.map((o) => flag(o).length))",
    reason: "options of one command (declared in the source)",
  },
  {
    file: "src/cli/data.ts",
    call: "Math.max(...names.map((n) => n.name.length))",
    reason: "the vendored dataset registry (a fixed list in the source)",
  },
  {
    file: "src/cli/report.ts",
    call: "Math.max(...r.notebooks.map((n) => n.name.length))",
    reason: "the notebooks of the repository (a handful of files)",
  },
  {
    file: "src/figures/figure.ts",
    call: "String.fromCharCode(...png.subarray(12, 16))",
    reason: "a 4-byte PNG chunk type",
  },
];

interface Hit {
  file: string;
  line: number;
  call: string;
  what: string;
}

/** Calls under `node` whose arguments spread an array, and `f.apply(t, xs)` calls. */
const plugin: Deno.lint.Plugin = {
  name: "nadir",
  rules: {
    "no-spread-call": {
      create(ctx) {
        const report = (node: Deno.lint.Node, message: string) => ctx.report({ node, message });
        return {
          CallExpression(node) {
            if (node.arguments.some((a) => a.type === "SpreadElement")) report(node, "spread into a call");
            const c = node.callee;
            const applyLike = c.type === "MemberExpression" && c.property.type === "Identifier" &&
              c.property.name === "apply" && node.arguments.length >= 2;
            const reflect = c.type === "MemberExpression" && c.object.type === "Identifier" &&
              c.object.name === "Reflect" && c.property.type === "Identifier" && c.property.name === "apply";
            if (applyLike || reflect) {
              const list = node.arguments[node.arguments.length - 1];
              if (list.type !== "ArrayExpression") report(node, "array passed to .apply");
            }
          },
          NewExpression(node) {
            if (node.arguments.some((a) => a.type === "SpreadElement")) report(node, "spread into new");
          },
        };
      },
    },
  },
};

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...tsFiles(p)); // directory depth, not input size
    else if (/\.(ts|tsx|js|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out.sort();
}

/** Line of a UTF-16 offset (the plugin API reports ranges in string indices). */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function scan(file: string, text: string): Hit[] {
  const hits: Hit[] = [];
  for (const d of Deno.lint.runPlugin(plugin, file, text)) {
    hits.push({
      file,
      line: lineAt(text, d.range[0]),
      call: text.slice(d.range[0], d.range[1]).replace(/\s+/g, " ").replace(/\( /g, "(").replace(
        /,? \)/g,
        ")",
      ),
      what: d.message,
    });
  }
  return hits;
}

Deno.test("no_spread: the scanner finds spread calls and .apply, not rest parameters or literals", () => {
  // Hand-made snippet: every syntactic form the scanner must tell apart, in one place.
  const src = [
    // 1: rest param (ok) + spread (hit); the non-ASCII comment checks that ranges are string indices
    "/* – é 😀 */ function f(...xs: number[]) { return Math.max(...xs); }",
    "const a = [...xs, 1]; const o = { ...opts };", // 2: literals (ok)
    "out.push(", // 3: multi-line spread (hit, reported at the call's line)
    "  ...rows);",
    "const g = (...r: number[]) => r.length;", // 5: arrow rest (ok)
    "new Foo(...args); fn.apply(null, big); fn.apply(null, [1, 2]); t.apply(df);", // 6: new, apply (2 hits)
    "Reflect.apply(fn, null, big);", // 7: Reflect.apply (hit)
  ].join("\n");
  const hits = scan("snippet.ts", src);
  assert.deepEqual(hits.map((h) => [h.line, h.what]), [
    [1, "spread into a call"],
    [3, "spread into a call"],
    [6, "spread into new"],
    [6, "array passed to .apply"],
    [7, "array passed to .apply"],
  ]);
  assert.equal(hits[0].call, "Math.max(...xs)");
  assert.equal(hits[1].call, "out.push(...rows)");
});

Deno.test("no_spread: no spread into calls or .apply on arrays of unbounded size under src/", () => {
  const src = join(ROOT, "src");
  const hits: Hit[] = [];
  for (const path of tsFiles(src)) {
    const file = relative(ROOT, path);
    for (const h of scan(file, Deno.readTextFileSync(path))) hits.push(h);
  }
  assert.ok(hits.length >= 1, "the scan saw no call at all: the parser or the file walk is broken");
  const used = new Set<Allowed>();
  const bad: string[] = [];
  for (const h of hits) {
    const ok = ALLOWED.find((a) =>
      a.file === h.file && (a.prefix ? h.call.startsWith(a.call) : a.call === h.call)
    );
    if (ok) used.add(ok);
    else bad.push(`${h.file}:${h.line}: ${h.what}: ${h.call}`);
  }
  assert.deepEqual(
    bad,
    [],
    "spread/apply over an array that may be input-sized (overflows the stack from ~120 k elements); " +
      "use a loop (for ... of / reduce), or add the call to ALLOWED with the reason it is small:\n  " +
      bad.join("\n  "),
  );
  const stale = ALLOWED.filter((a) => !used.has(a)).map((a) => `${a.file}: ${a.call}`);
  assert.deepEqual(stale, [], "ALLOWED entries that match no call any more (remove them)");
});
