"""Reliability III: what the bad-input table (tests/test_bad_inputs.py) cannot show, because the
command succeeds or the damage would be outside the case folder.

* nothing is written outside the run folder, the output and ganzoo's cache (no matplotlib or
  onnxruntime files in the home folder, no stray link beside an exported folder);
* a full disk while a checkpoint is written keeps every earlier checkpoint, in one line;
* an unusable cache only costs a warning: the scores are still computed;
* inputs that are not regular files are skipped with a count, and a deleted working folder is
  one line instead of a crash inside a native library.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ganzoo.testing import tiny_config

RING = {"name": "ring", "size": 64}
VANILLA = {"name": "vanilla", "z_dim": 2, "g_hidden": [8], "d_hidden": [8]}


def ganzoo(*args, cwd: Path, env: dict | None = None, preexec=None) -> subprocess.CompletedProcess:
    """The CLI in a fresh process, without the library settings this test process may hold."""
    base = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "ORT_DISABLE_TELEMETRY")}
    return subprocess.run([sys.executable, "-m", "ganzoo", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env={**base, "OMP_NUM_THREADS": "1", **(env or {})},
                          timeout=300, preexec_fn=preexec)


def files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory) -> Path:
    """A finished 4-step vanilla run on 2-D points, made by the CLI with an empty home folder."""
    root = tmp_path_factory.mktemp("ring")
    cfg = tiny_config(VANILLA, RING, root / "runs", steps=4)
    cfg["checkpoint"] = {"every": 2, "keep": 5}
    (root / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    (root / "home").mkdir()
    done = ganzoo("run", "cfg.yaml", cwd=root, env={"HOME": str(root / "home"),
                                                     "GANZOO_CACHE": str(root / "cache")})
    assert done.returncode == 0, done.stderr
    return root


def test_a_2d_run_and_an_onnx_export_write_nothing_in_the_home_folder(ring_run):
    pytest.importorskip("onnxruntime")
    home = ring_run / "home"
    assert list(home.rglob("*")) == [], "the 2-D run wrote into the home folder (matplotlib?)"
    assert (ring_run / "cache" / "matplotlib").is_dir(), "matplotlib's cache goes to ganzoo's"
    done = ganzoo("export", "runs/check", "-o", "exp", "--format", "onnx", cwd=ring_run,
                  env={"HOME": str(home), "GANZOO_CACHE": str(ring_run / "cache")})
    assert done.returncode == 0, done.stderr
    assert list(home.rglob("*")) == [], "the ONNX export wrote into the home folder (onnxruntime?)"


def test_export_force_through_a_link_leaves_nothing_beside_it(ring_run, tmp_path):
    (tmp_path / "target").mkdir()
    os.symlink(tmp_path / "target", tmp_path / "link")
    for extra in ([], ["--force"]):
        done = ganzoo("export", ring_run / "runs" / "check", "-o", "link", *extra, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]
    assert (tmp_path / "target" / "export.json").is_file()
    assert not [p for p in (tmp_path / "target").iterdir() if p.name.startswith(".")]


def test_export_force_keeps_the_users_files_and_replaces_only_its_own(ring_run, tmp_path):
    run = ring_run / "runs" / "check"
    assert ganzoo("export", run, "-o", "exp", cwd=tmp_path).returncode == 0
    (tmp_path / "exp" / "notes.txt").write_text("mine\n")
    first = files(tmp_path / "exp")
    done = ganzoo("export", run, "-o", "exp", "--force", "--checkpoint",
                  run / "checkpoints" / "step_00000002.pt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    after = files(tmp_path / "exp")
    assert after["notes.txt"] == first["notes.txt"]
    assert after["generator.safetensors"] != first["generator.safetensors"]  # another checkpoint
    assert set(after) == set(first)


def test_a_full_disk_while_checkpointing_keeps_earlier_checkpoints(ring_run, tmp_path):
    """`ulimit -f` as in the issue: the checkpoint cannot be written; one line, exit 2, and the
    checkpoints already saved are byte-for-byte the same."""
    import resource
    import shutil
    import signal

    run = tmp_path / "run"
    shutil.copytree(ring_run / "runs" / "check", run)
    (run / ".lock").unlink(missing_ok=True)
    before = files(run / "checkpoints")
    biggest = max((run / "checkpoints").iterdir(), key=lambda p: p.stat().st_size).stat().st_size

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (biggest // 2, biggest // 2))

    done = ganzoo("resume", run, "train.steps=6", cwd=tmp_path, preexec=limit)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if not line.startswith("ganzoo: warning:")]
    assert len(errors) == 1 and errors[0].startswith("ganzoo: error: cannot write "), done.stderr
    assert "step_00000006.pt" in errors[0] and "Traceback" not in done.stderr
    assert files(run / "checkpoints") == before
    assert not list((run / "checkpoints").glob(".*.tmp"))


def test_an_unusable_cache_only_warns_and_the_scores_are_computed(ring_run, tmp_path):
    (tmp_path / "cache").write_text("a file where the cache folder should be\n")
    done = ganzoo("eval", ring_run / "runs" / "check", "--metrics", "fid", "--extractor", "raw", "-n", "64",
                  cwd=tmp_path, env={"GANZOO_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    assert "ganzoo: warning: cannot use" in done.stderr and "without the stats cache" in done.stderr
    assert done.stdout.startswith("fid ")


def test_write_cache_warns_instead_of_failing(tmp_path):
    from ganzoo.fileio import write_cache

    (tmp_path / "blocker").write_text("x")
    with pytest.warns(UserWarning, match="blocker is a file"):
        assert write_cache(tmp_path / "blocker" / "stats.npz", lambda f: f.write(b"x")) is False
    assert write_cache(tmp_path / "ok.npz", lambda f: f.write(b"x")) is True


def test_training_skips_named_pipes_and_looping_links_among_images(tmp_path):
    import numpy as np
    from PIL import Image

    from ganzoo.config import config_from_dict
    from ganzoo.trainer import train

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for i in range(6):
        Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(imgs / f"{i}.png")
    os.mkfifo(imgs / "pipe.png")  # opening it would block until a writer came
    os.symlink("loop.png", imgs / "loop.png")
    cfg = tiny_config({"name": "dcgan", "z_dim": 4, "ngf": 4, "ndf": 4},
                      {"name": "image_folder", "root": str(imgs), "image_size": 16}, tmp_path / "runs", steps=2)
    cfg["train"]["batch_size"] = 3
    with pytest.warns(UserWarning, match=r"skipped 2 of the images .*named pipe|looping link"):
        result = train(config_from_dict(cfg))
    assert result.status == "finished"


def test_a_deleted_working_folder_is_one_line(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    script = f"cd {gone} && rmdir {gone} && exec {sys.executable} -m ganzoo run cfg.yaml"
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == ["ganzoo: error: the current working folder no longer exists "
                                        "(deleted or moved); cd to an existing folder and run the "
                                        "command again"]


def test_a_plugin_that_asks_for_the_registry_while_registering_is_named_not_a_hang():
    from ganzoo.errors import PluginError
    from ganzoo.plugins import Registry

    reg = Registry()
    reg._loading = __import__("threading").get_ident()
    with pytest.raises(PluginError, match="loaded_registry"):
        reg.load()
