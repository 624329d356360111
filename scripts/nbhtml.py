#!/usr/bin/python3
"""Render executed notebooks as self-contained HTML for reviewers, and an index page.

    /usr/bin/python3 scripts/nbhtml.py render NOTEBOOK.ipynb OUT.html [--provenance JSON]
    /usr/bin/python3 scripts/nbhtml.py index OUT_DIR/index.html NOTEBOOK.ipynb... [--provenance JSON]

Why our own renderer: Debian's nbconvert HTML template drops `image/svg+xml` outputs (figures show
as blank space) and needs mistune, which Debian does not install with it. Here each output is
rendered from the richest format we trust: `text/html` (nadir figures and tables carry their inline
SVG there), then `image/svg+xml` (inlined), `image/png`/`image/jpeg` (data: URIs), `text/markdown`,
`text/plain`. Streams and errors are shown as preformatted text with ANSI colour codes removed.
Everything (CSS, SVG, images) is inline: one file per notebook, no network, no JavaScript.

Provenance footer: git sha, data sha256, date, nadir version. A notebook can state the data it used by
displaying a bundle with the mime type `application/vnd.nadir.provenance+json` (see
src/figures/display.ts `provenanceNote`); values given with --provenance fill what it does not.
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import os
import re
import sys

import nbformat

try:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import TypeScriptLexer

    def code_html(src: str) -> str:
        return highlight(src, TypeScriptLexer(), HtmlFormatter(nowrap=True))

    PYGMENTS_CSS = HtmlFormatter(style="default").get_style_defs(".code")
except ImportError:  # pragma: no cover - pygments comes with nbconvert on Debian
    def code_html(src: str) -> str:
        return html.escape(src)

    PYGMENTS_CSS = ""

PROV_MIME = "application/vnd.nadir.provenance+json"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

CSS = """
:root { --fg:#1b1f24; --muted:#57606a; --line:#d0d7de; --bg:#ffffff; --code:#f6f8fa; --accent:#0b5cad; }
* { box-sizing: border-box; }
body { margin:0; font: 16px/1.55 "DejaVu Sans", system-ui, sans-serif; color:var(--fg); background:var(--bg); }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 40px; }
header.top { border-bottom:1px solid var(--line); margin-bottom:18px; padding-bottom:8px; }
header.top a { color:var(--accent); text-decoration:none; }
h1,h2,h3,h4 { line-height:1.25; margin:1.2em 0 .5em; }
h1 { font-size: 1.9em; } h2 { font-size:1.45em; border-bottom:1px solid var(--line); padding-bottom:.2em; }
code { font-family: "DejaVu Sans Mono", monospace; font-size:.9em; background:var(--code); padding:.1em .3em; border-radius:4px; }
pre { font-family: "DejaVu Sans Mono", monospace; font-size:13.5px; line-height:1.45; margin:0; white-space:pre-wrap; word-break:break-word; }
.cell { margin: 14px 0; }
.input { display:flex; gap:8px; }
.prompt { flex: 0 0 58px; color:var(--muted); font: 12px/1.9 "DejaVu Sans Mono", monospace; text-align:right; user-select:none; }
.code { flex:1; background:var(--code); border:1px solid var(--line); border-radius:6px; padding:8px 10px; overflow-x:auto; }
.outputs { margin-left:66px; }
.output { margin: 6px 0; overflow-x:auto; }
.output.stream pre { color:#24292f; }
.output.stderr pre { color:#8a4b00; background:#fff8e6; padding:4px 6px; border-radius:4px; }
.output.error pre { color:#a40e26; background:#ffebe9; padding:6px 8px; border-radius:4px; }
.output svg { max-width:100%; height:auto; }
.output img { max-width:100%; height:auto; }
table.nadir-table, .md table { border-collapse:collapse; font-size:14px; margin:6px 0; }
table.nadir-table th, table.nadir-table td, .md th, .md td { border:1px solid var(--line); padding:3px 8px; }
table.nadir-table th, .md th { background:var(--code); text-align:left; }
table.nadir-table caption { caption-side:top; text-align:left; color:var(--muted); padding:2px 0; }
.md { margin-left:66px; }
footer { margin-top:36px; border-top:1px solid var(--line); padding-top:10px; color:var(--muted); font-size:13px; }
footer dl { display:grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin:0; }
footer dt { font-weight:bold; } footer dd { margin:0; font-family:"DejaVu Sans Mono", monospace; }
.status-error { color:#a40e26; font-weight:bold; }
ul.index { list-style:none; padding:0; } ul.index li { border:1px solid var(--line); border-radius:8px; padding:12px 16px; margin:10px 0; }
ul.index a { font-size:1.15em; font-weight:bold; color:var(--accent); text-decoration:none; }
.meta { color:var(--muted); font-size:13.5px; }
"""


def inline_md(s: str) -> str:
    s = html.escape(s, quote=False)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", s)
    s = re.sub(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])", r"<em>\1</em>", s)
    s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', s)
    return s


def markdown_html(src: str) -> str:
    """A small Markdown subset: headings, paragraphs, lists, fenced code, pipe tables, quotes, rules."""
    out: list[str] = []
    lines = src.replace("\r\n", "\n").split("\n")
    i = 0
    para: list[str] = []

    def flush():
        if para:
            out.append(f"<p>{inline_md(' '.join(para))}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append(f"<pre class=\"code\">{html.escape(chr(10).join(lines[i + 1:j]))}</pre>")
            i = j + 1
            continue
        m = re.match(r"^(#{1,6})\s+(.*)$", line)
        if m:
            flush()
            n = len(m.group(1))
            out.append(f"<h{n}>{inline_md(m.group(2))}</h{n}>")
            i += 1
            continue
        if re.match(r"^\s*([-*]|\d+\.)\s+", line):
            flush()
            ordered = bool(re.match(r"^\s*\d+\.", line))
            items = []
            while i < len(lines) and (re.match(r"^\s*([-*]|\d+\.)\s+", lines[i]) or (lines[i].startswith("  ") and items)):
                if re.match(r"^\s*([-*]|\d+\.)\s+", lines[i]):
                    items.append(re.sub(r"^\s*([-*]|\d+\.)\s+", "", lines[i]))
                else:
                    items[-1] += " " + lines[i].strip()
                i += 1
            tag = "ol" if ordered else "ul"
            out.append(f"<{tag}>" + "".join(f"<li>{inline_md(it)}</li>" for it in items) + f"</{tag}>")
            continue
        if line.strip().startswith("|") and i + 1 < len(lines) and re.match(r"^\s*\|?\s*:?-{2,}", lines[i + 1]):
            flush()
            row = lambda l: [c.strip() for c in l.strip().strip("|").split("|")]
            head = row(line)
            i += 2
            body = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                body.append(row(lines[i]))
                i += 1
            out.append("<table><thead><tr>" + "".join(f"<th>{inline_md(h)}</th>" for h in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{inline_md(c)}</td>" for c in r) + "</tr>" for r in body) + "</tbody></table>")
            continue
        if line.startswith(">"):
            flush()
            q = []
            while i < len(lines) and lines[i].startswith(">"):
                q.append(lines[i].lstrip("> "))
                i += 1
            out.append(f"<blockquote>{inline_md(' '.join(q))}</blockquote>")
            continue
        if re.match(r"^\s*(---|\*\*\*)\s*$", line):
            flush()
            out.append("<hr>")
            i += 1
            continue
        if not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out)


def text_of(v) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


def output_html(o) -> str | None:
    t = o.get("output_type")
    if t == "stream":
        cls = "stderr" if o.get("name") == "stderr" else "stream"
        return f'<div class="output {cls}"><pre>{html.escape(ANSI.sub("", text_of(o.get("text", ""))))}</pre></div>'
    if t == "error":
        tb = "\n".join(ANSI.sub("", x) for x in o.get("traceback", [])) or f"{o.get('ename')}: {o.get('evalue')}"
        return f'<div class="output error"><pre>{html.escape(tb)}</pre></div>'
    data = o.get("data", {})
    if set(data) <= {PROV_MIME, "text/plain"} and PROV_MIME in data:
        return None
    if "text/html" in data:
        return f'<div class="output html">{text_of(data["text/html"])}</div>'
    if "image/svg+xml" in data:
        svg = text_of(data["image/svg+xml"])
        svg = re.sub(r"^\s*<\?xml[^>]*>", "", svg)
        return f'<div class="output svg">{svg}</div>'
    for mime in ("image/png", "image/jpeg"):
        if mime in data:
            b64 = text_of(data[mime]).replace("\n", "")
            return f'<div class="output img"><img alt="figure" src="data:{mime};base64,{b64}"></div>'
    if "text/markdown" in data:
        return f'<div class="output md-out">{markdown_html(text_of(data["text/markdown"]))}</div>'
    if "text/plain" in data:
        return f'<div class="output plain"><pre>{html.escape(ANSI.sub("", text_of(data["text/plain"])))}</pre></div>'
    return None


def notebook_provenance(nb, extra: dict) -> dict:
    prov = dict(extra)
    meta = nb.metadata.get("nadir", {})
    if meta.get("executed_at"):
        prov.setdefault("date", meta["executed_at"])
    for c in nb.cells:
        for o in c.get("outputs", []):
            d = o.get("data", {}) if isinstance(o, dict) else {}
            if PROV_MIME in d:
                v = d[PROV_MIME]
                v = json.loads(v) if isinstance(v, str) else v
                for k, val in v.items():
                    if val not in (None, ""):
                        prov[k] = val
    return prov


def title_of(nb, fallback: str) -> str:
    for c in nb.cells:
        if c.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", c.source, re.M)
            if m:
                return m.group(1).strip()
    return fallback


def page(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{CSS}{PYGMENTS_CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


def footer(prov: dict, meta: dict) -> str:
    rows = [
        ("git sha", prov.get("gitSha") or prov.get("git_sha") or "unknown"),
        ("data sha256", prov.get("dataSha") or prov.get("data_sha256") or "unknown"),
        ("data", prov.get("source") or prov.get("data") or ""),
        ("date", prov.get("date") or ""),
        ("nadir version", prov.get("version") or "unknown"),
    ]
    if meta.get("duration_s") is not None:
        params = ", ".join(f"{k}={json.dumps(v)}" for k, v in meta.get("parameters", {}).items()) or "defaults"
        rows.append(("run", f"{meta.get('duration_s')} s, parameters {params}, status {meta.get('status', '?')}"))
    inputs = meta.get("inputs")
    if inputs:
        rows.append(("rendered from", f"commit {inputs.get('commit') or 'unknown'}, {inputs.get('renderedAt', '')}"))
        runs = list(inputs.get("results", {}).keys())
        rows.append(("result folders", ", ".join(runs) if runs else "none"))
        rows.append(("inputs checked", f"notebook, {len(inputs.get('src', {}))} src/ modules and the result folders"
                     " carry sha256 digests; deno task nadir report --check tells whether any changed since"))
    dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows if v != "")
    return f'<footer><strong>Provenance</strong><dl>{dl}</dl></footer>'


def render(nb_path: str, out_path: str, extra: dict) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    name = os.path.splitext(os.path.basename(nb_path))[0]
    title = title_of(nb, name)
    meta = nb.metadata.get("nadir", {})
    parts = [f'<header class="top"><a href="index.html">← all reports</a> · <span class="meta">{html.escape(name)}.ipynb'
             + (' · <span class="status-error">a cell raised an error</span>' if meta.get("status") == "error" else "")
             + "</span></header>"]
    for c in nb.cells:
        if c.cell_type == "markdown":
            parts.append(f'<div class="cell md">{markdown_html(c.source)}</div>')
        elif c.cell_type == "code":
            if not c.source.strip() and not c.get("outputs"):
                continue
            n = c.get("execution_count")
            prompt = f"[{n if n is not None else ' '}]:"
            outs = [h for h in (output_html(o) for o in c.get("outputs", [])) if h]
            parts.append(f'<div class="cell code-cell"><div class="input"><div class="prompt">{prompt}</div>'
                         f'<pre class="code">{code_html(c.source)}</pre></div>'
                         + (f'<div class="outputs">{"".join(outs)}</div>' if outs else "") + "</div>")
    parts.append(footer(notebook_provenance(nb, extra), meta))
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(page(title, "\n".join(parts)))


def summary_of(nb) -> str:
    for c in nb.cells:
        if c.cell_type == "markdown":
            paras = [p.strip() for p in re.split(r"\n\s*\n", c.source) if p.strip() and not p.strip().startswith("#")]
            if paras:
                return paras[0].replace("\n", " ")
    return ""


def index(out_path: str, nbs: list[str], extra: dict) -> None:
    items = []
    for p in nbs:
        nb = nbformat.read(p, as_version=4)
        name = os.path.splitext(os.path.basename(p))[0]
        meta = nb.metadata.get("nadir", {})
        prov = notebook_provenance(nb, extra)
        status = meta.get("status", "?")
        st = '<span class="status-error">error</span>' if status == "error" else html.escape(status)
        items.append(f'<li><a href="{html.escape(name)}.html">{html.escape(title_of(nb, name))}</a>'
                     f'<div>{inline_md(summary_of(nb))}</div>'
                     f'<div class="meta">{html.escape(name)}.ipynb · executed {html.escape(str(meta.get("executed_at", "?")))}'
                     f' in {meta.get("duration_s", "?")} s · status {st} · data {html.escape(str(prov.get("source") or "-"))}'
                     f' · <a href="{html.escape(name)}.ipynb" style="font-size:1em;font-weight:normal">notebook</a></div></li>')
    body = ("<h1>nadir reports</h1><p>Notebooks executed headless with the Deno kernel (<code>deno task nadir report</code>). "
            "Figures for slides are in <a href=\"figures/\">figures/</a> (SVG and PNG, 1600×900).</p>"
            f'<ul class="index">{"".join(items)}</ul>' + footer(extra, {}))
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(page("nadir reports", body))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render")
    r.add_argument("notebook")
    r.add_argument("out")
    r.add_argument("--provenance", default="{}")
    x = sub.add_parser("index")
    x.add_argument("out")
    x.add_argument("notebooks", nargs="+")
    x.add_argument("--provenance", default="{}")
    a = ap.parse_args(argv)
    extra = json.loads(a.provenance)
    try:
        if a.cmd == "render":
            render(a.notebook, a.out, extra)
        else:
            index(a.out, a.notebooks, extra)
    except (OSError, ValueError) as e:
        print(f"nbhtml: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
