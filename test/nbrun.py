#!/usr/bin/env python3
"""Run dsgym notebooks headlessly with the GoNB kernel and report per cell.

    nbrun.py [options] NOTEBOOK...

A notebook fails when a cell errors, or when a cell's output shows a Go test
failure, a panic or a non-zero exit ("--- FAIL", "panic:", "exit status N"),
unless the cell is tagged "raises-exception"; such a cell must then error.
Each cell runs with the notebook's folder as working directory and a time
limit (--timeout, or the cell's metadata "dsgym": {"timeout": seconds}).

Options:
  --solutions     fill each exercise cell with its reference solution first
                  (through "dsgym nb fill"), and run strict
  --strict        set DSGYM_STRICT=1 for the kernel: failing checks fail cells
  --timeout S     per-cell time limit in seconds (default 180)
  --out DIR       write executed notebooks there (default .dsgym/build/nbrun)
  -j N            notebooks to run at once (default 1)
  --quiet         print only failures and the summary
  --budgets       print warm-cell medians beside their budgets

Exit status 0 when every notebook passed.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAIL_PATTERNS = [
    (re.compile(r"^--- FAIL", re.M), "a Go test failed (--- FAIL)"),
    (re.compile(r"^panic: ", re.M), "the cell panicked"),
    (re.compile(r"\bexit status [1-9][0-9]*\b"), "the cell exited with a non-zero status"),
]
BUDGETS = {"chart": 1.5, "trivial": 0.5}


def cell_text(cell):
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def output_text(out):
    parts = []
    if out.get("output_type") == "stream":
        parts.append(out.get("text", ""))
    elif out.get("output_type") == "error":
        parts.append(out.get("ename", "") + ": " + out.get("evalue", ""))
        parts.extend(re.sub(r"\x1b\[[0-9;]*m", "", line) for line in out.get("traceback", []))
    else:
        data = out.get("data", {})
        for mime in ("text/plain", "text/html", "text/markdown"):
            if mime in data:
                v = data[mime]
                parts.append(v if isinstance(v, str) else "".join(v))
    return "\n".join(parts)


def cell_kind(cell):
    """chart: draws a chart; trivial: plain Go with no imports, no %test, no
    shell (what the warm-cell budget is about); other: everything else."""
    if is_chart_cell(cell):
        return "chart"
    src = cell_text(cell)
    if re.search(r"^\s*(import\b|%test|!)", src, re.M):
        return "other"
    code = [l for l in src.splitlines() if l.strip() and not l.strip().startswith(("//", "%"))]
    return "trivial" if code else "other"


def is_chart_cell(cell):
    for out in cell.get("outputs", []):
        html = out.get("data", {}).get("text/html", "")
        if "dsgym-chart" in (html if isinstance(html, str) else "".join(html)):
            return True
    return False


class TimedClient(NotebookClient):
    """A NotebookClient that measures each cell's wall-clock time itself
    (kernel message timestamps can be whole seconds)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.cell_seconds = {}

    async def async_execute_cell(self, cell, cell_index, *a, **kw):
        t0 = time.monotonic()
        try:
            return await super().async_execute_cell(cell, cell_index, *a, **kw)
        finally:
            if cell.cell_type == "code":
                self.cell_seconds[cell_index] = time.monotonic() - t0


class Result:
    def __init__(self, path):
        self.path = path
        self.failures = []  # (cell index, summary, excerpt)
        self.cells = []  # (index, kind, seconds, first line)
        self.wall = 0.0


_dsgym_bin = None


def dsgym_command():
    """A dsgym binary built from the working tree once per run (an installed
    .dsgym/bin/dsgym can be older than the exercises it must know)."""
    global _dsgym_bin
    if _dsgym_bin is None:
        out = os.path.join(tempfile.mkdtemp(prefix="nbrun-dsgym-"), "dsgym")
        subprocess.run(["go", "build", "-o", out, "./cmd/dsgym"], cwd=ROOT, check=True)
        _dsgym_bin = out
    return [_dsgym_bin]


def fill_solutions(path, tmpdir):
    out = os.path.join(tmpdir, os.path.basename(path))
    subprocess.run(dsgym_command() + ["nb", "fill", "--solutions", path, out], cwd=ROOT, check=True)
    return out


def run_one(path, args):
    res = Result(path)
    nb_dir = os.path.dirname(os.path.abspath(path))
    source = path
    tmpdir = None
    if args.solutions:
        tmpdir = tempfile.mkdtemp(prefix="nbrun-")
        source = fill_solutions(path, tmpdir)
    nb = nbformat.read(source, as_version=4)
    timeouts = {}
    for i, cell in enumerate(nb.cells):
        t = cell.get("metadata", {}).get("dsgym", {}).get("timeout")
        if t:
            timeouts[i] = t
    client = TimedClient(
        nb,
        timeout=args.timeout,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "gonb"),
        resources={"metadata": {"path": nb_dir}},
        allow_errors=False,
        record_timing=True,
        startup_timeout=120,
    )
    if timeouts:
        client.timeout_func = lambda cell: timeouts.get(nb.cells.index(cell), args.timeout)
    t0 = time.monotonic()
    stopped = None
    try:
        client.execute()
    except CellTimeoutError as e:
        stopped = ("a cell ran longer than its time limit", str(e).splitlines()[0] if str(e) else "")
    except CellExecutionError as e:
        stopped = ("a cell raised an error", str(e))
    except DeadKernelError as e:
        stopped = ("the kernel died", str(e))
    except Exception as e:  # noqa: BLE001 - report anything as a failure of this notebook
        stopped = ("the run failed: " + type(e).__name__, str(e))
    res.wall = time.monotonic() - t0

    last_run = -1
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is not None or cell.get("outputs"):
            last_run = i
        secs = client.cell_seconds.get(i)
        first = cell_text(cell).strip().splitlines()[0][:60] if cell_text(cell).strip() else ""
        kind = cell_kind(cell)
        if secs is not None:
            res.cells.append((i, kind, secs, first))
        tags = cell.get("metadata", {}).get("tags", [])
        expect_error = "raises-exception" in tags
        text = "\n".join(output_text(o) for o in cell.get("outputs", []))
        errored = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if expect_error:
            if secs is not None and not errored:
                res.failures.append((i, "the cell is tagged raises-exception but did not fail", first))
            continue
        for pat, what in FAIL_PATTERNS:
            m = pat.search(text)
            if m:
                start = max(0, m.start() - 300)
                res.failures.append((i, what, text[start : m.end() + 400].strip()))
                break
        else:
            if errored:
                res.failures.append((i, "the cell raised an error", text[-1500:].strip()))
    if stopped and not res.failures:
        res.failures.append((last_run + 1, stopped[0], stopped[1][-2000:]))
    elif stopped and stopped[0].startswith("a cell ran longer"):
        res.failures.append((last_run, stopped[0], stopped[1]))

    os.makedirs(args.out, exist_ok=True)
    suffix = ".solutions" if args.solutions else ""
    out_path = os.path.join(args.out, os.path.basename(path).replace(".ipynb", suffix + ".ipynb"))
    nbformat.write(nb, out_path)
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("notebooks", nargs="*")
    ap.add_argument("--solutions", action="store_true")
    ap.add_argument("--strict", action="store_true")
    ap.add_argument("--timeout", type=int, default=180)
    ap.add_argument("--out", default=os.path.join(ROOT, ".dsgym", "build", "nbrun"))
    ap.add_argument("-j", type=int, default=1)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--budgets", action="store_true")
    ap.add_argument("-h", "--help", action="store_true")
    args = ap.parse_args()
    if args.help or not args.notebooks:
        print(__doc__)
        return 0 if args.help else 2
    for p in args.notebooks:
        if not os.path.exists(p):
            print(f"no such notebook: {p}", file=sys.stderr)
            return 2
    if args.solutions or args.strict:
        os.environ["DSGYM_STRICT"] = "1"
    if "DSGYM_PROGRESS" not in os.environ:
        os.environ["DSGYM_PROGRESS"] = os.path.join(tempfile.mkdtemp(prefix="nbrun-progress-"), "progress.json")

    if args.solutions:
        dsgym_command()
    mode = "solutions filled in, strict" if args.solutions else ("strict" if args.strict else "as shipped")
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        futs = {pool.submit(run_one, p, args): p for p in args.notebooks}
        for fut in concurrent.futures.as_completed(futs):
            r = fut.result()
            results.append(r)
            status = "ok" if not r.failures else "FAILED"
            print(f"{status:6} {os.path.relpath(r.path, ROOT)} ({mode}): {len(r.cells)} cells in {r.wall:.1f} s", flush=True)
            if not args.quiet:
                for i, kind, secs, first in r.cells:
                    print(f"         cell {i:3d} {kind:7} {secs:7.2f} s  {first}")
            for i, what, excerpt in r.failures:
                print(f"  cell {i}: {what}")
                for line in excerpt.splitlines()[:40]:
                    print(f"    | {line}")
    if args.budgets:
        for kind, budget in BUDGETS.items():
            times = [s for r in results for (i, k, s, _) in r.cells[1:] if k == kind]
            if times:
                med = statistics.median(times)
                verdict = "within" if med <= budget else "OVER"
                print(f"budget: median warm {kind} cell {med:.2f} s (budget {budget} s, {len(times)} cells): {verdict}")
    failed = [r for r in results if r.failures]
    print(f"{len(results) - len(failed)} of {len(results)} notebooks passed ({mode})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
