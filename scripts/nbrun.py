#!/usr/bin/python3
"""Execute a Jupyter notebook headless with nadir's Deno kernel, without losing late outputs.

    JUPYTER_PATH=.jupyter /usr/bin/python3 scripts/nbrun.py IN.ipynb OUT.ipynb \
        [-p KEY=VALUE ...] [--timeout S] [--grace S] [--kernel deno] [--cwd DIR] [--allow-errors]

Why not `jupyter nbconvert --execute`: the Deno kernel often publishes a cell's stream and display
messages on IOPub *after* it has sent `execute_reply` and `status: idle`; nbclient stops listening to
a cell at idle, so 12-25 % of outputs vanish. This runner uses nbclient to start and stop the kernel,
but runs its own message loop: after a cell's reply and idle it keeps draining IOPub until nothing
arrived for `--grace` seconds, and every message is routed to its cell by `parent_header.msg_id`, so
an output that arrives even later (during the next cell) still lands in the right place. It records
how many outputs arrived after idle in the notebook metadata (`metadata.nadir.late_outputs`).

Parameters: the first code cell tagged "parameters" holds lines such as `const QUICK = false;`.
Each `-p KEY=VALUE` rewrites that line in place (VALUE is JSON when it parses, else a string), so the
notebook stays valid TypeScript for `deno check`. An unknown KEY is an error that lists the known ones.

The executed notebook is signed (nbformat.sign.NotebookNotary) so Jupyter trusts its HTML outputs.
Exit status: 0 all cells ran, 1 a cell raised (the notebook is still written, with the error), 2 usage.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from datetime import datetime, timezone
from queue import Empty

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import output_from_msg

PARAM_LINE = re.compile(r"^(\s*(?:export\s+)?(?:const|let|var)\s+)([A-Za-z_$][\w$]*)(\s*(?::[^=]+)?=\s*)(.*?)(;?\s*(?://.*)?)$")


def parse_params(pairs: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in pairs:
        if "=" not in p:
            raise SystemExit(f"nbrun: -p expects KEY=VALUE, found {p!r}")
        k, v = p.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


def inject_parameters(nb, params: dict[str, object]) -> list[str]:
    """Rewrites `const KEY = ...;` lines of the parameters cell. Returns the names found there."""
    cell = next((c for c in nb.cells if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        if params:
            raise SystemExit(f"nbrun: parameters {sorted(params)} given but no cell is tagged \"parameters\"")
        return []
    lines = cell.source.split("\n")
    known: list[str] = []
    for i, line in enumerate(lines):
        m = PARAM_LINE.match(line)
        if not m:
            continue
        name = m.group(2)
        known.append(name)
        if name in params:
            lines[i] = f"{m.group(1)}{name}{m.group(3)}{json.dumps(params[name])}; // injected by nbrun"
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise SystemExit(f"nbrun: unknown parameter(s) {', '.join(unknown)}; the parameters cell declares {', '.join(known) or 'nothing'}")
    cell.source = "\n".join(lines)
    return known


class Runner:
    def __init__(self, nb, kernel: str, cwd: str, timeout: float, grace: float, allow_errors: bool, quiet: bool):
        self.nb = nb
        self.kernel = kernel
        self.cwd = cwd
        self.timeout = timeout
        self.grace = grace
        self.allow_errors = allow_errors
        self.quiet = quiet
        self.by_msg: dict[str, int] = {}  # parent msg_id -> cell index
        self.idle: set[str] = set()
        self.late = 0
        self.max_late = 0.0
        self.idle_at: dict[str, float] = {}
        self.display_cells: dict[str, list[tuple[int, int]]] = {}  # display_id -> [(cell, output index)]

    def log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, file=sys.stderr, flush=True)

    def handle(self, msg) -> None:
        parent = msg.get("parent_header", {}).get("msg_id")
        idx = self.by_msg.get(parent)
        mtype = msg["header"]["msg_type"]
        content = msg["content"]
        if mtype == "status":
            if content.get("execution_state") == "idle" and parent:
                self.idle.add(parent)
                self.idle_at.setdefault(parent, time.monotonic())
            return
        if idx is None or mtype in ("execute_input", "comm_open", "comm_msg", "comm_close"):
            return
        cell = self.nb.cells[idx]
        if parent in self.idle:
            self.late += 1
            self.max_late = max(self.max_late, time.monotonic() - self.idle_at.get(parent, time.monotonic()))
        if mtype == "clear_output":
            cell.outputs = []
            return
        if mtype == "execute_result" or mtype == "execute_reply":
            if "execution_count" in content and content.get("execution_count") is not None:
                cell.execution_count = content["execution_count"]
        if mtype == "update_display_data":
            did = content.get("transient", {}).get("display_id")
            for ci, oi in self.display_cells.get(did, []):
                out = self.nb.cells[ci].outputs[oi]
                out["data"] = content.get("data", {})
                out["metadata"] = content.get("metadata", {})
            return
        if mtype not in ("stream", "display_data", "execute_result", "error"):
            return
        out = output_from_msg(msg)
        if mtype == "stream" and cell.outputs and cell.outputs[-1].get("output_type") == "stream" and cell.outputs[-1].get("name") == out["name"]:
            cell.outputs[-1]["text"] += out["text"]
            return
        cell.outputs.append(out)
        did = content.get("transient", {}).get("display_id")
        if did:
            self.display_cells.setdefault(did, []).append((idx, len(cell.outputs) - 1))

    async def drain(self, kc, until: float | None, stop) -> None:
        """Handles IOPub messages until stop() is true and nothing came for `grace` s (or `until` passes)."""
        quiet_since = time.monotonic()
        while True:
            now = time.monotonic()
            if until is not None and now > until:
                raise TimeoutError
            if stop() and now - quiet_since >= self.grace:
                return
            try:
                msg = await kc.get_iopub_msg(timeout=0.05)
            except (Empty, asyncio.TimeoutError):
                continue
            self.handle(msg)
            quiet_since = time.monotonic()

    async def run(self) -> int:
        client = NotebookClient(self.nb, kernel_name=self.kernel, resources={"metadata": {"path": self.cwd}}, timeout=int(self.timeout))
        status = 0
        timings: list[float | None] = [None] * len(self.nb.cells)
        t_start = time.monotonic()
        async with client.async_setup_kernel():
            kc = client.kc
            await kc.wait_for_ready(timeout=120) if asyncio.iscoroutinefunction(kc.wait_for_ready) else kc.wait_for_ready(timeout=120)
            code_cells = [i for i, c in enumerate(self.nb.cells) if c.cell_type == "code"]
            for n, i in enumerate(code_cells):
                cell = self.nb.cells[i]
                cell.outputs = []
                cell.execution_count = None
                if not cell.source.strip():
                    continue
                t0 = time.monotonic()
                msg_id = kc.execute(cell.source, store_history=True, allow_stdin=False, stop_on_error=not self.allow_errors)
                self.by_msg[msg_id] = i
                reply = None
                deadline = t0 + self.timeout
                try:
                    while reply is None:
                        if time.monotonic() > deadline:
                            raise TimeoutError
                        try:
                            m = await kc.get_shell_msg(timeout=0.05)
                            if m.get("parent_header", {}).get("msg_id") == msg_id:
                                reply = m
                        except (Empty, asyncio.TimeoutError):
                            pass
                        # keep IOPub moving while the cell runs
                        while True:
                            try:
                                self.handle(await kc.get_iopub_msg(timeout=0.01))
                            except (Empty, asyncio.TimeoutError):
                                break
                    await self.drain(kc, deadline, lambda: msg_id in self.idle)
                except TimeoutError:
                    await client.km.interrupt_kernel()
                    cell.outputs.append(nbformat.v4.new_output("error", ename="TimeoutError", evalue=f"cell did not finish within {self.timeout:.0f} s", traceback=[f"TimeoutError: cell {n + 1} did not finish within {self.timeout:.0f} s"]))
                    status = 1
                    self.log(f"nbrun: cell {n + 1}/{len(code_cells)} timed out after {self.timeout:.0f} s")
                    break
                timings[i] = round(time.monotonic() - t0, 3)
                c = reply["content"]
                if c.get("execution_count") is not None:
                    cell.execution_count = c["execution_count"]
                self.log(f"nbrun: cell {n + 1}/{len(code_cells)} {c.get('status')} in {timings[i]:.1f} s")
                if c.get("status") == "error":
                    if not any(o.get("output_type") == "error" for o in cell.outputs):
                        cell.outputs.append(nbformat.v4.new_output("error", ename=c.get("ename", "Error"), evalue=c.get("evalue", ""), traceback=c.get("traceback", [])))
                    status = 1
                    if not self.allow_errors:
                        break
            # a last, longer drain for anything still in flight
            end = time.monotonic() + max(1.0, 3 * self.grace)
            await self.drain(kc, None, lambda: time.monotonic() > end)
        meta = self.nb.metadata.setdefault("nadir", {})
        meta["executed_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        meta["duration_s"] = round(time.monotonic() - t_start, 1)
        meta["late_outputs"] = self.late
        meta["max_late_ms"] = round(self.max_late * 1000, 1)
        meta["cell_seconds"] = [t for t in timings if t is not None]
        meta["status"] = "ok" if status == 0 else "error"
        return status


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("-p", "--param", action="append", default=[], help="KEY=VALUE for the parameters cell (VALUE as JSON)")
    ap.add_argument("--kernel", default="deno")
    ap.add_argument("--cwd", help="kernel working directory (default: the input notebook's folder)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per cell")
    ap.add_argument("--grace", type=float, default=0.5, help="seconds of IOPub silence after idle before the next cell")
    ap.add_argument("--allow-errors", action="store_true", help="keep running after a cell raises")
    ap.add_argument("--no-sign", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    try:
        nb = nbformat.read(a.input, as_version=4)
    except (OSError, ValueError) as e:
        print(f"nbrun: {a.input}: cannot read notebook: {e}", file=sys.stderr)
        return 2
    params = parse_params(a.param)
    names = inject_parameters(nb, params)
    cwd = os.path.abspath(a.cwd or os.path.dirname(os.path.abspath(a.input)))
    runner = Runner(nb, a.kernel, cwd, a.timeout, a.grace, a.allow_errors, a.quiet)
    status = asyncio.run(runner.run())
    nb.metadata["nadir"]["parameters"] = {k: v for k, v in params.items() if k in names}
    nbformat.validate(nb)
    os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
    if not a.no_sign:
        from nbformat.sign import NotebookNotary

        NotebookNotary().sign(nb)
    with open(a.output, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
    if not a.quiet:
        print(f"nbrun: wrote {a.output} ({nb.metadata['nadir']['duration_s']} s, {runner.late} late outputs recovered, status {nb.metadata['nadir']['status']})", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
