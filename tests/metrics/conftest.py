"""Fixtures for the metrics tests: a random-weights FID Inception file (same keys and shapes as
pytorch-fid's, so every loading and pipeline step runs for real; only the numbers differ)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """The tensors here are tiny: every metrics test runs on one thread (tests/conftest.py)."""


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory):
    from ganzoo.metrics.inception import FIDInceptionV3

    torch.manual_seed(1234)
    net = FIDInceptionV3()
    # non-trivial BatchNorm statistics so that the eval-mode normalisation matters
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("inception") / "random_inception.pth"
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture
def clean_weights_env(monkeypatch, tmp_path):
    """No weights from the environment and an empty cache."""
    monkeypatch.delenv("GANZOO_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
