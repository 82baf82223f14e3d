"""Render time per phantom study in each style, interleaved on the same study indices (issue 24: the
randomised style must stay within about 1.5× classic). Usage:

    PYTHONPATH=LSSGrader python tools/bench_phantom_styles.py [studies]
"""

from __future__ import annotations

import sys
import time

from lss.phantom.generate import PhantomOptions, render_study


def main(studies: int = 3, seed: int = 21) -> dict[str, list[float]]:
    """Seconds per study for classic, randomised and unseen; prints means and the ratio to classic."""
    times: dict[str, list[float]] = {"classic": [], "randomised": [], "unseen": []}
    for index in range(studies):
        for style, values in times.items():
            started = time.perf_counter()
            render_study(seed, index, PhantomOptions(style=style))
            values.append(time.perf_counter() - started)
    for style, values in times.items():
        print(f"{style:10s} seconds {[round(v, 2) for v in values]} mean {sum(values) / len(values):.2f} "
              f"ratio to classic {sum(values) / sum(times['classic']):.2f}")
    return times


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
