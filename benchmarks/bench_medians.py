"""Each ratio's median over several runs of bench_rnn.py: the table issue 14 is judged on.

One run of `bench_rnn.py` on this noisy machine can put a ratio on either side of its target, so
a target is judged on the median of three runs. Save each run's output, then:

    PYTHONPATH=. python benchmarks/bench_rnn.py --rounds 11 --budget 10 > run1.txt   # 3 times
    python benchmarks/bench_medians.py run1.txt run2.txt run3.txt

prints, for each thread setting, every ratio column of the runs' tables as
"median verdict (run 1, run 2, run 3)"; the verdict is "on the line" when the median, rounded
as printed, equals the target.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

TARGET = re.compile(r"\((<=|>=) ([0-9.]+)(%?)")  # in a ratio column's header


def read_tables(text: str) -> dict[str, tuple[list[str], list[list[str]]]]:
    """A run's tables by thread setting ('1', 'default'): (header cells, rows of cells)."""
    tables, threads = {}, None
    for line in text.splitlines():
        if line.startswith("threads: "):
            threads = line.split()[1]
        elif line.startswith("|") and threads is not None and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            header, rows = tables.setdefault(threads, (cells, []))
            if cells is not header:
                rows.append(cells)
    return tables


def value(cell: str) -> float:
    """A ratio cell's number: '0.75 MISSED' -> 0.75, '33%' -> 0.33."""
    number = cell.split()[0]
    return float(number[:-1]) / 100 if number.endswith("%") else float(number)


def shown(x: float, percent: bool) -> str:
    """A ratio as the table prints it."""
    return f"{x:.0%}" if percent else f"{x:.2f}"


def verdict(median: float, header: str, row_has_target: bool) -> str:
    """'met', 'MISSED', 'on the line' or '' (a column whose target is for another row)."""
    m = TARGET.search(header)
    if m is None or not row_has_target:
        return ""
    op, target, percent = m.group(1), float(m.group(2)), m.group(3) == "%"
    target = target / 100 if percent else target
    if shown(median, percent) == shown(target, percent):
        return " on the line"
    ok = median <= target if op == "<=" else median >= target
    return " met" if ok else " MISSED"


def median_table(header: list[str], runs: list[list[list[str]]]) -> list[str]:
    """The Markdown lines of one thread setting's table of medians."""
    ratio_cols = [i for i, h in enumerate(header) if h.startswith(("/", "bound/"))]
    lines = ["| " + " | ".join(header[:2] + [header[i] for i in ratio_cols]) + " |",
             "|" + "---|" * (2 + len(ratio_cols))]
    for rows in zip(*runs):
        if len({tuple(r[:2]) for r in rows}) != 1:
            raise SystemExit(f"bench_medians: the runs' rows differ: {[r[:2] for r in rows]}")
        out = rows[0][:2]
        for i in ratio_cols:
            values = [value(r[i]) for r in rows]
            percent = rows[0][i].split()[0].endswith("%") or header[i].startswith("bound/")
            at_target = len(rows[0][i].split()) > 1  # the run printed a verdict in this cell
            med = statistics.median(values)
            out.append(shown(med, percent) + verdict(med, header[i], at_target)
                       + " (" + ", ".join(shown(v, percent) for v in values) + ")")
        lines.append("| " + " | ".join(out) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the medians table of the saved runs named on the command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="saved outputs of bench_rnn.py")
    args = p.parse_args(argv)
    tables = [read_tables(path.read_text()) for path in args.runs]
    for threads in tables[0]:
        if any(threads not in t for t in tables):
            raise SystemExit(f"bench_medians: not every run has the threads={threads} table")
        header = tables[0][threads][0]
        print(f"threads: {threads}  (medians of {len(tables)} runs; the runs in brackets)")
        print("\n".join(median_table(header, [t[threads][1] for t in tables])))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
