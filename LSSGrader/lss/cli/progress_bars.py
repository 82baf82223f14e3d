"""tqdm progress bars for grading and training on the command line: one bar per stage, on stderr."""

from __future__ import annotations

import sys

from tqdm import tqdm

from lss.control import Progress, RunControl


class ProgressBars:
    """A context manager turning progress events into one tqdm bar per stage."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: tqdm | None = None
        self.stage = ""

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def update(self, event: Progress) -> None:
        """Move (or start) the bar of the event's stage."""
        if not self.enabled:
            return
        if event.stage != self.stage or self.bar is None:
            if self.bar is not None:
                self.bar.close()
            self.stage = event.stage
            self.bar = tqdm(total=event.total, desc=event.stage, file=sys.stderr, leave=False, disable=None)
        self.bar.total = event.total
        self.bar.n = event.step
        postfix = {"loss": f"{event.loss:.3f}"} if event.loss is not None else {}
        if event.message:
            postfix["info"] = event.message
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.refresh()
        if event.message:
            tqdm.write(f"{event.stage}: {event.message}", file=sys.stderr)

    def control(self) -> RunControl:
        """A RunControl reporting into these bars."""
        return RunControl(progress=self.update)
