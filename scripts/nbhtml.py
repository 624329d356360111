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

For reviewers the code is hidden by default: a "show code" checkbox at the top shows the code cells
(pure CSS, `#show-code:checked ~ .code-cell`); outputs and Markdown are always shown. Tables (Markdown
and nadir's HTML tables) sit in their own box that scrolls when they are wider or taller than the page.

Provenance footer: git sha, data sha256, date, nadir version. A notebook can state the data it used by
displaying a bundle with the mime type `application/vnd.nadir.provenance+json` (see
src/figures/display.ts `provenanceNote`); values given with --provenance fill what it does not.
The commit reads `<sha>+dirty` when it is the checkout's HEAD and, at render time, any tracked file in the
tree outside what rendering writes (reports/, experiments/feature-sets/) is modified
(`git status --porcelain --untracked-files=no`) or the notebook itself is modified
or untracked (`git status --porcelain --untracked-files=all -- <notebook>`; the notebook as recorded in
metadata.nadir.inputs, else notebooks/<name>.ipynb); an "uncommitted" row then says which. Untracked
files elsewhere (result folders being written) do not count. `--repo DIR` names the checkout (default:
the one this script is in).
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import os
import re
import subprocess
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
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 40px; position:relative; }
#show-code { position:absolute; top:24px; right:28px; margin:0; width:1px; height:1px; opacity:0; }
label.code-toggle { position:absolute; top:20px; right:28px; font-size:14px; color:var(--accent); cursor:pointer;
  user-select:none; border:1px solid var(--line); border-radius:6px; padding:2px 10px; background:var(--bg); }
label.code-toggle:hover { background:var(--code); }
#show-code:focus-visible ~ label.code-toggle { outline:2px solid var(--accent); }
#show-code:checked ~ label.code-toggle .off, #show-code:not(:checked) ~ label.code-toggle .on { display:none; }
#show-code:not(:checked) ~ .code-cell .input { display:none; }
#show-code:not(:checked) ~ .code-cell.no-output { display:none; }
#show-code:not(:checked) ~ .code-cell .outputs, #show-code:not(:checked) ~ .cell.md { margin-left:0; }
@media print { #show-code, label.code-toggle { display:none; } }
header.top { border-bottom:1px solid var(--line); margin-bottom:18px; padding-bottom:8px; padding-right:130px; }
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
.table-wrap { overflow:auto; max-width:100%; max-height:80vh; margin:6px 0; width:max-content;
  /* a shadow on the side where more of the table is scrolled out of view */
  background: linear-gradient(to right, var(--bg) 30%, rgba(255,255,255,0)) left / 40px 100% no-repeat local,
    linear-gradient(to left, var(--bg) 30%, rgba(255,255,255,0)) right / 40px 100% no-repeat local,
    radial-gradient(farthest-side at 0 50%, rgba(0,0,0,.25), transparent) left / 14px 100% no-repeat scroll,
    radial-gradient(farthest-side at 100% 50%, rgba(0,0,0,.25), transparent) right / 14px 100% no-repeat scroll; }
.table-wrap > table { margin:0; }
.table-wrap > table caption { position:sticky; left:0; }
.table-wrap thead th { position:sticky; top:0; z-index:1; }
table.nadir-table, .md table { border-collapse:collapse; font-size:14px; margin:6px 0; }
table.nadir-table td, .md td { overflow-wrap:break-word; }
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


LIST_ITEM = re.compile(r"^( *)([-*+]|\d{1,9}[.)])( +|$)(.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _starts_block(line: str) -> bool:
    """Whether a line opens a block of its own (so it cannot continue a list item lazily)."""
    item = LIST_ITEM.match(line)
    return bool(line.startswith("```") or re.match(r"^ {0,3}#{1,6}\s", line) or re.match(r"^ {0,3}>", line)
                or re.match(r"^\s*(---|\*\*\*)\s*$", line) or line.strip().startswith("|")
                or (item and (not item.group(2)[0].isdigit() or item.group(2)[:-1] == "1")))


def list_html(lines: list[str], start: int, out: list[str]) -> int:
    """One bullet or numbered list from lines[start] into out; returns the index after it.

    An item's text may wrap onto continuation lines, indented or not (a "lazy" line right after the
    item's text); lines indented past the marker after a blank line are further paragraphs or a nested
    list of the item. A blank line between items makes the list loose (items keep their paragraphs).
    """
    head = LIST_ITEM.match(lines[start])
    indent = len(head.group(1))
    ordered = head.group(2)[0].isdigit()
    items: list[list[str]] = []
    loose = False
    i = start
    while i < len(lines):
        m = LIST_ITEM.match(lines[i])
        if not m or len(m.group(1)) > indent + 1 or m.group(2)[0].isdigit() != ordered:
            break
        items.append([m.group(4)])
        content = len(m.group(1)) + len(m.group(2)) + max(1, min(len(m.group(3)), 4))
        i += 1
        while i < len(lines):
            line = lines[i]
            if not line.strip():
                j = i
                while j < len(lines) and not lines[j].strip():
                    j += 1
                if j < len(lines) and _indent(lines[j]) >= min(content, indent + 2):
                    items[-1].append("")
                    loose = True
                    i = j
                    continue
                break
            sub = LIST_ITEM.match(line)
            if sub and len(sub.group(1)) <= indent + 1 and (sub.group(2)[0].isdigit() == ordered or _starts_block(line)):
                break  # the next item of this list, or another list starting
            if _indent(line) > indent:
                items[-1].append(line[min(_indent(line), content):])
            elif items[-1][-1].strip() and not _starts_block(line):
                items[-1].append(line.strip())
            else:
                break
            i += 1
        j = i
        while j < len(lines) and not lines[j].strip():
            j += 1
        nxt = LIST_ITEM.match(lines[j]) if j < len(lines) else None
        if nxt and len(nxt.group(1)) <= indent + 1 and nxt.group(2)[0].isdigit() == ordered:
            loose = loose or j > i
            i = j
        else:
            break
    lis = []
    for it in items:
        body = markdown_html("\n".join(it)).replace("\n", "")
        if not loose and body.startswith("<p>"):
            body = re.sub(r"^<p>(.*?)</p>", r"\1", body, count=1, flags=re.S)
        lis.append(f"<li>{body}</li>")
    tag = "ol" if ordered else "ul"
    first = int(head.group(2)[:-1]) if ordered else 1
    out.append(f"<{tag}" + (f' start="{first}"' if first != 1 else "") + ">" + "".join(lis) + f"</{tag}>")
    return i


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
        if LIST_ITEM.match(line) and (not para or _starts_block(line)):  # only "1." or a bullet interrupts text
            flush()
            i = list_html(lines, i, out)
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
            out.append('<div class="table-wrap"><table><thead><tr>' + "".join(f"<th>{inline_md(h)}</th>" for h in head)
                       + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{inline_md(c)}</td>" for c in r) + "</tr>" for r in body)
                       + "</tbody></table></div>")
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


def wrap_tables(fragment: str) -> str:
    """Puts each top-level <table> of an HTML output in a box that scrolls (both ways) instead of
    overflowing the page, so a wide table is never clipped on the right."""
    out, depth, pos = [], 0, 0
    for m in re.finditer(r"<(/?)table\b[^>]*>", fragment, re.I):
        if not m.group(1):
            if depth == 0:
                out.append(fragment[pos:m.start()] + '<div class="table-wrap">')
                pos = m.start()
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                out.append(fragment[pos:m.end()] + "</div>")
                pos = m.end()
    out.append(fragment[pos:])
    if depth:  # an unclosed table: close its box at the end of the output
        out.append("</div>")
    return "".join(out)


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
        return f'<div class="output html">{wrap_tables(text_of(data["text/html"]))}</div>'
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


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def git_lines(repo: str, *args: str) -> list[str] | None:
    """Output lines of a git command in repo, or None when git or the repository is missing."""
    try:
        r = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return [l for l in r.stdout.splitlines() if l.strip()] if r.returncode == 0 else None


def source_paths(nb, name: str, repo: str | None) -> list[str]:
    """The source notebook of an executed one, relative to the repository: what `nadir report` recorded
    in metadata.nadir.inputs, else notebooks/<name>.ipynb when it exists."""
    recorded = list((nb.metadata.get("nadir", {}).get("inputs") or {}).get("notebook", {}).keys())
    if recorded:
        return recorded
    guess = os.path.join("notebooks", f"{name}.ipynb")
    return [guess] if os.path.exists(os.path.join(repo or REPO, guess)) else []


def worktree_state(repo: str | None, paths: list[str]) -> dict | None:
    """HEAD and what differs from it at render time: tracked files modified anywhere in the tree
    (`git status --porcelain --untracked-files=no`) and the notebook itself modified or untracked
    (`git status --porcelain --untracked-files=all -- <notebook>`). None outside a git checkout."""
    repo = repo or REPO
    head = git_lines(repo, "rev-parse", "HEAD")
    if not head:
        return None
    # What rendering itself rewrites is no uncommitted change (src/figures/provenance.ts RENDER_OUTPUTS).
    tracked = git_lines(repo, "status", "--porcelain", "--untracked-files=no", "--", ".",
                        ":(exclude)reports", ":(exclude)experiments/feature-sets") or []
    notebook = git_lines(repo, "status", "--porcelain", "--untracked-files=all", "--", *paths) if paths else []
    return {"head": head[0], "tracked": tracked, "notebook": notebook or []}


def mark_dirty(sha, state: dict | None):
    """`<sha>+dirty` when sha is the checkout's HEAD and the checkout differs from it; other values as given."""
    if not sha or not state or str(sha).endswith("+dirty"):
        return sha
    if (state["tracked"] or state["notebook"]) and state["head"].startswith(str(sha)):
        return f"{sha}+dirty"
    return sha


def footer(prov: dict, meta: dict, state: dict | None = None) -> str:
    """The provenance footer. The commit rows read `<sha>+dirty` when, at render time, the checkout's
    tracked files differ from that commit (whole tree, untracked files not counted) or the notebook
    itself is modified or untracked; an "uncommitted" row then says which."""
    rows = [
        ("git sha", mark_dirty(prov.get("gitSha") or prov.get("git_sha"), state) or "unknown"),
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
        rows.append(("rendered from",
                     f"commit {mark_dirty(inputs.get('commit'), state) or 'unknown'}, {inputs.get('renderedAt', '')}"))
        runs = list(inputs.get("results", {}).keys())
        rows.append(("result folders", ", ".join(runs) if runs else "none"))
        rows.append(("inputs checked", f"notebook, {len(inputs.get('src', {}))} src/ modules and the result folders"
                     " carry sha256 digests; deno task nadir report --check tells whether any changed since"))
    if state and (state["tracked"] or state["notebook"]):
        what = []
        if state["notebook"]:
            what.append(", ".join(("untracked " if l.startswith("??") else "modified ") + l[3:] for l in state["notebook"]))
        if state["tracked"]:
            n = len(state["tracked"])
            what.append(f"{n} tracked file{'s' if n != 1 else ''} modified in the checkout")
        rows.append(("uncommitted", "; ".join(what) + " (git status --porcelain at render time)"))
    dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows if v != "")
    return f'<footer><strong>Provenance</strong><dl>{dl}</dl></footer>'


def render(nb_path: str, out_path: str, extra: dict, repo: str | None = None) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    name = os.path.splitext(os.path.basename(nb_path))[0]
    title = title_of(nb, name)
    meta = nb.metadata.get("nadir", {})
    # The code toggle: a checkbox before the cells; CSS hides code inputs while it is unchecked (the default).
    parts = ['<input type="checkbox" id="show-code">'
             '<label for="show-code" class="code-toggle"><span class="off">show code</span><span class="on">hide code</span></label>',
             f'<header class="top"><a href="index.html">← all reports</a> · <span class="meta">{html.escape(name)}.ipynb'
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
            parts.append(f'<div class="cell code-cell{"" if outs else " no-output"}"><div class="input"><div class="prompt">{prompt}</div>'
                         f'<pre class="code">{code_html(c.source)}</pre></div>'
                         + (f'<div class="outputs">{"".join(outs)}</div>' if outs else "") + "</div>")
    parts.append(footer(notebook_provenance(nb, extra), meta, worktree_state(repo, source_paths(nb, name, repo))))
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


def index(out_path: str, nbs: list[str], extra: dict, repo: str | None = None) -> None:
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
            f'<ul class="index">{"".join(items)}</ul>' + footer(extra, {}, worktree_state(repo, [])))
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(page("nadir reports", body))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render")
    r.add_argument("notebook")
    r.add_argument("out")
    r.add_argument("--provenance", default="{}")
    r.add_argument("--repo", default=REPO, help="git checkout whose state marks the commit +dirty (default: this one)")
    x = sub.add_parser("index")
    x.add_argument("out")
    x.add_argument("notebooks", nargs="+")
    x.add_argument("--provenance", default="{}")
    x.add_argument("--repo", default=REPO, help="git checkout whose state marks the commit +dirty (default: this one)")
    a = ap.parse_args(argv)
    extra = json.loads(a.provenance)
    try:
        if a.cmd == "render":
            render(a.notebook, a.out, extra, a.repo)
        else:
            index(a.out, a.notebooks, extra, a.repo)
    except (OSError, ValueError) as e:
        print(f"nbhtml: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
