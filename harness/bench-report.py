#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench-report.py STOCK.LOG UFFD.LOG OUTDIR

Reads the UFFD-BENCH lines of both kernels' guest logs and writes, in
OUTDIR: results.txt (the table make bench prints), results.md (the same
as Markdown, for the README) and throughput.png (faults per second against
faulting threads, both kernels, plotted by gnuplot).  Each figure is the
median of its repetitions, with min and max; ratio is ours / stock.
"""
import os
import re
import statistics
import subprocess
import sys

# The figure each benchmark is judged by, and whether higher is better.
HEADLINE = {
    "faults_per_s": True, "wakeups_per_fault": False, "us_per_op": False,
    "bytes_each": False, "ns_per_resolve": False, "ns_per_fork_exit": False,
    "ns_per_fault": False, "mappings_per_s": True,
}


def parse(path):
    res = {}
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^UFFD-BENCH (\S+) (\S+) (\S+)\s*$", line.strip())
            if not m or m.group(2) not in HEADLINE:
                continue
            try:
                v = float(m.group(3))
            except ValueError:
                continue
            res.setdefault((m.group(1), m.group(2)), []).append(v)
    return res


def fmt(v):
    if v >= 100:
        return "%.0f" % v
    if v >= 1:
        return "%.2f" % v
    return "%.3f" % v


def cell(vals):
    if not vals:
        return "-"
    return "%s [%s-%s]" % (fmt(statistics.median(vals)), fmt(min(vals)),
                           fmt(max(vals)))


def main():
    stock, ours, out = parse(sys.argv[1]), parse(sys.argv[2]), sys.argv[3]
    keys = []
    for k in list(stock) + list(ours):
        if k not in keys:
            keys.append(k)
    rows = []
    for label, metric in keys:
        s, o = stock.get((label, metric)), ours.get((label, metric))
        ratio = "-"
        if s and o and statistics.median(s):
            ratio = "%.2f" % (statistics.median(o) / statistics.median(s))
        better = "higher" if HEADLINE[metric] else "lower"
        rows.append((label, "%s (%s)" % (metric, better), cell(s), cell(o),
                     ratio))
    head = ("benchmark", "figure (better)", "stock median [min-max]",
            "ours median [min-max]", "ours/stock")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(5)]
    with open(os.path.join(out, "results.txt"), "w") as f:
        for r in [head] + rows:
            f.write("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
                    + "\n")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("| " + " | ".join(head) + " |\n")
        f.write("|" + " --- |" * 5 + "\n")
        for r in rows:
            f.write("| " + " | ".join(r) + " |\n")

    # Throughput against T: one data file, one column per series.
    series = [("m1", "1 monitor"), ("m2", "2 monitors"), ("m4", "4 monitors"),
              ("batch", "1 monitor, batched wake")]
    threads = sorted({int(l.rsplit("-T", 1)[1]) for (l, m) in keys
                      if l.startswith("tput-m1-T")})
    dat = os.path.join(out, "throughput.dat")
    with open(dat, "w") as f:
        for t in threads:
            row = [str(t)]
            for kern in (stock, ours):
                for s, _ in series:
                    v = kern.get(("tput-%s-T%d" % (s, t), "faults_per_s"))
                    row.append(fmt(statistics.median(v) / 1000) if v else "?")
            f.write(" ".join(row) + "\n")
    plots = []
    for k, kern in enumerate(("stock 6.12", "ours")):
        for i, (_, name) in enumerate(series):
            col = 2 + k * len(series) + i
            plots.append("'%s' using 1:%d with linespoints dt %d lc %d "
                         "pt %d title '%s, %s'"
                         % (dat, col, 2 if k == 0 else 1, i + 1, 7 if k else 6,
                            kern, name))
    script = """set terminal png size 900,640
set output '%s'
set title 'uffd-tput: 8,192 faults served, guest time under -icount (open points: stock 6.12)'
set xlabel 'faulting threads (T)'
set ylabel 'thousand faults per second'
set logscale x 2
set key below
set grid
set datafile missing '?'
plot %s
""" % (os.path.join(out, "throughput.png"), ", \\\n     ".join(plots))
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


if __name__ == "__main__":
    main()
