"""Run every benchmark under Testing/benchmarks (`make bench`); each prints its own numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    """Run each bench_*.py in turn and return the first non-zero exit code."""
    status = 0
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        status = status or subprocess.call([sys.executable, str(script)])
    return status


if __name__ == "__main__":
    sys.exit(main())
