"""Front-end speed: lines per second of parse + check on a large generated file, and the wall time
of `python -m plmr check stdlib` against `python -c pass` (the interpreter's own start-up).

    python benchmarks/bench_frontend.py [--kernels 3000] [--repeats 5]

Prints medians of the repeats and ratios measured in this run.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compiler.check import check_module  # noqa: E402
from dsl.parser import parse  # noqa: E402
from stdlib import kernel_files  # noqa: E402


def large_source(kernels: int) -> str:
    """The stdlib's kernels repeated, each copy renamed, until there are `kernels` of them."""
    blocks = []
    for path in kernel_files():
        blocks += re.findall(r"(?:#[^\n]*\n)*kernel .*?\n}\n", path.read_text(), re.S)
    out = []
    for n in range(kernels):
        block = blocks[n % len(blocks)]
        out.append(re.sub(r"kernel (\w+)", lambda m, n=n: f"kernel {m.group(1)}_{n}", block, count=1))
    return "\n".join(out)


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def frontend(kernels: int, repeats: int) -> None:
    text = large_source(kernels)
    lines = text.count("\n")
    parse_s = median_seconds(lambda: parse(text, "large.plmr"), repeats)
    module = parse(text, "large.plmr")
    check_s = median_seconds(lambda: check_module(module), repeats)
    both = parse_s + check_s
    print(f"generated file: {kernels} kernels, {lines} lines, {len(text) / 1e6:.2f} MB")
    print(f"  parse          {parse_s * 1e3:9.1f} ms   {lines / parse_s:12,.0f} lines/s")
    print(f"  check          {check_s * 1e3:9.1f} ms   {lines / check_s:12,.0f} lines/s")
    print(f"  parse + check  {both * 1e3:9.1f} ms   {lines / both:12,.0f} lines/s")


def command(repeats: int) -> None:
    def run(*args: str) -> None:
        subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True)

    baseline = median_seconds(lambda: run("-c", "pass"), repeats)
    check = median_seconds(lambda: run("-m", "plmr", "check", "stdlib"), repeats)
    print(f"python -c pass               {baseline * 1e3:8.1f} ms")
    print(f"python -m plmr check stdlib  {check * 1e3:8.1f} ms   ratio {check / baseline:5.1f}x, "
          f"plmr's own cost {(check - baseline) * 1e3:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    frontend(args.kernels, args.repeats)
    command(args.repeats)


if __name__ == "__main__":
    main()
