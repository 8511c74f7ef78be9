"""Progress of a long run: a text bar with documents per second and time left, per stage.

Written through the run's logger (not printed) so that it interleaves cleanly with Prefect's
own log lines, in the terminal and in Prefect's UI alike.
"""

from __future__ import annotations

import logging
import time
from typing import Any

BAR_WIDTH = 24


def format_progress(stage: str, done: int, total: int, elapsed: float) -> str:
    """`annotate [##########--------------]  940/2225 docs  47.0 docs/s  ETA 0:27`."""
    share = done / total if total else 1.0
    filled = round(share * BAR_WIDTH)
    rate = done / elapsed if elapsed > 0 else 0.0
    left = (total - done) / rate if rate > 0 else 0.0
    eta = f"{int(left // 60)}:{int(left % 60):02d}"
    width = len(str(total))
    return f"{stage} [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {done:>{width}}/{total} docs  {rate:.1f} docs/s  ETA {eta}"


class StageProgress:
    """Counts documents done in one stage and logs the bar at most every `every` seconds."""

    def __init__(self, logger: logging.Logger | logging.LoggerAdapter[Any], stage: str, total: int, *, every: float = 2.0) -> None:
        self.logger, self.stage, self.total, self.every = logger, stage, total, every
        self.done = 0
        self.start = self.last = time.monotonic()

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.total and (now - self.last >= self.every or self.done >= self.total):
            self.last = now
            self.logger.info(format_progress(self.stage, self.done, self.total, now - self.start))
