"""Shared test set-up: an isolated cache, quiet progress bars, small thread counts."""

from __future__ import annotations

import os

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Keep tests away from the user's cache and data folders."""
    root = tmp_path_factory.mktemp("ganzoo-cache")
    old = {k: os.environ.get(k) for k in ("GANZOO_CACHE", "GANZOO_DATA")}
    os.environ["GANZOO_CACHE"] = str(root / "cache")
    os.environ["GANZOO_DATA"] = str(root / "data")
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def one_thread():
    """One intra-op thread for tests of tiny tensors: on a busy 2-core machine more threads
    only add waiting. Use it with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
