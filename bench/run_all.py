"""Run every benchmark in this folder (files named bench_*.py), one after another.

`--quick` runs the slow ones at a smaller size, for trying them out; the figures worth
quoting come from a full run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Benchmarks that take a while at full size, and how to run them smaller.
QUICK_ARGUMENTS = {"bench_compliance": ["--quick"], "bench_live_exercise": ["--quick"]}


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.stem} ==", flush=True)
        arguments = QUICK_ARGUMENTS.get(script.stem, []) if quick else []
        if subprocess.run([sys.executable, script, *arguments]).returncode != 0:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
