"""One process at a time per run folder, and training processes that stop with their bench.

A bench killed outright (SIGKILL, a lost SSH session) leaves its training process behind; run
again, the bench must not start a second trainer on the same folder. Each run is therefore
trained and scored under an exclusive ``flock`` on ``RUN_DIR/.bench.lock`` that the training
process inherits, so the lock lasts until the last of them exits; a later bench waits for it.
On Linux the training process is also asked (``PR_SET_PDEATHSIG``) to get SIGTERM when its
parent dies: it then saves a checkpoint and stops, and the next bench resumes from there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

try:
    import fcntl
except ImportError:  # Windows: no flock; one bench at a time is then up to the user
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".bench.lock"


@contextlib.contextmanager
def run_lock(run_dir: Path, say: Callable[[str], None], label: str) -> Iterator[list[int]]:
    """Hold the run folder's lock; yields the file descriptors a child must inherit to keep it."""
    if fcntl is None:
        yield []
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        waited = None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if waited is None or time.monotonic() - waited > 60:
                    say(f"{label}: waiting for another process that is working on {run_dir} "
                        f"(a training process of an earlier bench stopping, or another bench)")
                    waited = time.monotonic()
                time.sleep(0.5)
        yield [fd]
    finally:
        os.close(fd)


def _term_on_parent_death() -> None:  # runs in the child between fork and exec
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when this process dies (Linux), or None
    where that is unsafe (other threads running: fork then exec with a preexec_fn can deadlock)."""
    if sys.platform != "linux" or threading.active_count() > 1:
        return None
    return _term_on_parent_death
