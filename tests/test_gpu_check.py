"""tools/gpu_check.py and tools/gpu_wheels.sh, on a machine without CUDA.

The check itself runs on CPU here (CUDA hidden from it), so every zoo config must come out as
skipped for "CUDA not available"; its GPU code paths (zoo run, speed benchmarks, resume check,
Inception throughput, Frechet distance in torch) are run on the CPU at tiny sizes.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools"
sys.path.insert(0, str(TOOLS))

import gpu_check  # noqa: E402

ZOO = sorted(p.stem for p in (ROOT / "zoo_configs").glob("*.yaml"))
#: configs on ganzoo's built-in 2-D point sets (no memory layout: no channels_last run)
POINTS = {c for c in ZOO if yaml.safe_load((ROOT / "zoo_configs" / f"{c}.yaml").read_text())
          ["data"]["name"] in ("grid", "ring", "ring8_wgangp", "grid25_wgangp", "swiss_roll")}


def no_cuda_env() -> dict:
    return {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}


# -- the whole command on a machine without CUDA ----------------------------------------------
def test_cpu_run_skips_every_zoo_config_and_writes_the_report(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(TOOLS / "gpu_check.py"), "--out", str(out),
                           "--cpu-fid-dim", "16", "--budget-s", "120"],
                          capture_output=True, text=True, timeout=240, env=no_cuda_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["environment"]["cuda_available"] is False
    zoo = report["zoo"]
    assert sorted({e["config"] for e in zoo}) == ZOO and "cyclegan_horse2zebra" not in str(zoo)
    assert all(e["status"] == "skipped" and e["reason"] == "CUDA not available" for e in zoo)
    modes = {(e["config"], e["mode"]) for e in zoo}
    for c in ZOO:
        assert {(c, m) for m in ("fp32", "bf16", "fp16", "compile")} <= modes
        assert ((c, "channels_last") in modes) == (c not in POINTS), c
    assert [e["status"] for e in report["speed"]] == ["skipped"] * 3
    assert report["resume"]["reason"] == "CUDA not available"
    assert report["fid"]["features"]["reason"] == "CUDA not available"
    frechet = report["fid"]["frechet"]
    assert frechet["status"] == "ok" and frechet["d"] == 16 and frechet["relative_difference"] < 1e-9
    assert any(s["why"] == "CUDA not available" and s["section"] == "zoo" for s in report["skipped"])
    assert "skipped zoo" in proc.stdout and "CUDA not available" in proc.stdout
    md = (out / "report.md").read_text()
    assert "| config | fp32 | bf16 | fp16 | channels_last | compile |" in md
    assert "| dcgan | skipped: CUDA not available |" in md
    assert "| grid2d_vanilla |" in md and "n/a" in md


def test_missing_ganzoo_is_one_line_with_the_fix(tmp_path):
    """Run from a copy of the script with ganzoo hidden: exit 2 and the install commands."""
    code = ("import sys, builtins; real = builtins.__import__\n"
            "def imp(name, *a, **k):\n"
            "    if name.startswith('ganzoo'): raise ModuleNotFoundError(\"No module named 'ganzoo'\")\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = imp\n"
            f"sys.path.insert(0, {str(TOOLS)!r}); import gpu_check\n"
            f"sys.exit(gpu_check.main(['--out', {str(tmp_path / 'o')!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=no_cuda_env())
    assert proc.returncode == 2
    assert "No module named 'ganzoo'" in proc.stderr and "pip install --no-deps --no-build-isolation -e ." in proc.stderr
    assert "Traceback" not in proc.stderr


def test_hard_stop_marks_the_running_item_and_exits(tmp_path):
    code = (f"import sys, time; sys.path.insert(0, {str(TOOLS)!r}); import gpu_check as g\n"
            "from pathlib import Path\n"
            "entry = {'config': 'dcgan', 'mode': 'compile', 'status': 'pending'}\n"
            "report = {'zoo': [entry], 'skipped': [], 'settings': {}, 'environment': {}}\n"
            f"g.start_watchdog(0.5, report, Path({str(tmp_path)!r}), g.Budget(1))\n"
            "g.attempt(entry, lambda: time.sleep(30))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=no_cuda_env())
    assert proc.returncode == 3, proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["zoo"][0]["status"] == "error" and "hard stop" in report["zoo"][0]["error"]
    assert "hard stop" in (tmp_path / "report.md").read_text()


def test_script_imports_only_stdlib_and_torch_at_the_top():
    """The GPU image has torch but ganzoo's own dependencies come from the wheelhouse: the
    script must start (and explain what is missing) with stdlib + torch (+ ganzoo) alone."""
    tree = ast.parse((TOOLS / "gpu_check.py").read_text())
    roots = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add((node.module or "").split(".")[0])
    allowed = set(sys.stdlib_module_names) | {"torch", "ganzoo", "__future__"}
    assert roots and roots <= allowed, roots - allowed
    assert "torch" in roots


# -- pure helpers -------------------------------------------------------------------------------
def test_budget_sections_roll_over_and_learn_costs():
    now = [100.0]
    b = gpu_check.Budget(100, clock=lambda: now[0])
    assert b.left("zoo") == pytest.approx(60) and b.left("fid") == pytest.approx(96)
    assert b.allows("zoo", "fp32")                      # first guess 10 s < 60 s
    assert b.allows("zoo", "compile")                   # 45 s guess fits in 60 s
    now[0] = 120.0
    assert not b.allows("zoo", "compile")               # 40 s left < 45 s guess
    b.record("fp32", 5.0)
    b.record("fp32", 3.0)                               # the slowest seen is kept
    assert b.estimate("fp32") == 5.0
    now[0] = 156.0                                      # 4 s left in zoo
    assert not b.allows("zoo", "fp32")
    assert b.allows("speed", "speed") is False and b.left("speed") == pytest.approx(24)
    now[0] = 150.0
    assert b.allows("speed", "speed")                   # zoo ended early: 30 s left for speed
    assert b.elapsed() == pytest.approx(50)


def test_zoo_plan_is_mode_by_mode_and_skips_channels_last_for_points():
    configs = [ROOT / "zoo_configs" / f"{c}.yaml" for c in ("dcgan", "grid2d_vanilla")]
    plan = gpu_check.zoo_plan(configs, list(gpu_check.MODES), cuda=True)
    assert [(e["config"], e["mode"]) for e in plan][:4] == [
        ("dcgan", "fp32"), ("grid2d_vanilla", "fp32"), ("dcgan", "bf16"), ("grid2d_vanilla", "bf16")]
    assert ("grid2d_vanilla", "channels_last") not in {(e["config"], e["mode"]) for e in plan}
    assert ("dcgan", "channels_last") in {(e["config"], e["mode"]) for e in plan}
    assert all(e["status"] == "pending" for e in plan) and len(plan) == 9
    assert all(e["reason"] == "CUDA not available"
               for e in gpu_check.zoo_plan(configs, ["fp32"], cuda=False))


def sample_report() -> dict:
    zoo = [
        {"config": "dcgan", "mode": "fp32", "status": "ok", "steps_per_s": 123.4, "peak_mem_mib": 56.7},
        {"config": "dcgan", "mode": "compile", "status": "error",
         "error": "TrainingError: loss 'loss_d' is nan at step 3 | then"},
        {"config": "grid2d_vanilla", "mode": "fp32", "status": "skipped", "reason": "time budget"},
    ]
    speed = [{"name": "dcgan_64px_b128", "batch": 128, "status": "ok", "ganzoo_images_per_s": 9000.0,
              "plain_images_per_s": 9500.0, "ratio": 0.947, "rounds": [{}, {}, {}]},
             {"name": "cyclegan_256px_b1", "batch": 1, "status": "skipped", "reason": "time budget"}]
    resume = {"config": "dcgan", "status": "mismatch", "identical": False, "steps": [40, 20, 20],
              "n_differing": 2, "tensors": 33, "max_abs_diff": 1.5e-7}
    fid = {"features": {"status": "ok", "device": "cuda", "batch": 200, "input_px": 32,
                        "images_per_s": {"contiguous": 4100.0, "channels_last": 5200.0}},
           "frechet": {"status": "error", "error": "RuntimeError: cusolver failed"}}
    return {"environment": {"device": "NVIDIA H200", "memory_gib": 139.8, "cuda": "12.8", "torch": "2.11.0"},
            "settings": {"budget_s": 450, "steps": 30, "modes": ["fp32", "compile"]},
            "started": "2026-01-01T00:00:00", "elapsed_s": 440.0, "command": "python tools/gpu_check.py",
            "zoo": zoo, "speed": speed, "resume": resume, "fid": fid,
            "skipped": [{"section": "zoo", "what": "1 of 3 runs", "why": "time budget"}]}


def test_markdown_report_tables():
    md = gpu_check.markdown_report(sample_report())
    assert "NVIDIA H200 (139.8 GiB), CUDA 12.8" in md and "440.0 s of a 450 s budget" in md
    assert "| config | fp32 | compile |" in md
    assert ("| dcgan | ok, 123 steps/s, 57 MiB | error: TrainingError: loss 'loss_d' is nan at step 3 "
            "\\| then |") in md
    assert "| grid2d_vanilla | skipped: time budget | n/a |" in md
    assert "1 ok, 1 failed, 1 skipped of 3 runs" in md
    assert "| dcgan_64px_b128 | 128 | 9000.0 | 9500.0 | 0.947 | 3 |" in md
    assert "| cyclegan_256px_b1 | 1 | skipped: time budget |" in md
    assert "DIFFERENT (2 of 33 tensors, max |diff| 1.5e-07)" in md
    assert "contiguous 4100, channels_last 5200 images/s" in md
    assert "Frechet distance: error: RuntimeError: cusolver failed" in md
    assert "- zoo: 1 of 3 runs (time budget)" in md


def test_failures_and_json_are_strict():
    report = sample_report()
    assert gpu_check.failures(report) == ["dcgan compile", "dcgan", "fid"]
    text = json.dumps(gpu_check.jsonable({"a": [float("nan"), 1.0, Path("x")]}), allow_nan=False)
    assert json.loads(text) == {"a": ["nan", 1.0, "x"]}


def test_attempt_keeps_going_with_a_one_line_error():
    entry = gpu_check.attempt({"config": "x"}, lambda: (_ for _ in ()).throw(
        RuntimeError("CUDA error: out of memory\nsecond line")))
    assert entry["status"] == "error" and entry["error"] == "RuntimeError: CUDA error: out of memory"
    assert entry["seconds"] >= 0 and gpu_check.RUNNING["entry"] is None


def test_log_summary_leaves_out_the_warm_up_interval(tmp_path):
    log = tmp_path / "log.jsonl"
    lines = [{"step": 10, "kind": "train", "time": 1.0, "loss_d": 1.0, "steps_per_s": 5.0},
             {"step": 10, "kind": "val", "time": 1.1, "elbo": 3.0},
             {"step": 20, "kind": "train", "time": 1.2, "loss_d": 0.9, "steps_per_s": 100.0},
             {"step": 30, "kind": "train", "time": 1.3, "loss_d": 0.8, "loss_g": "nan",
              "grad_norm/D": 2.0, "lr/G": 1e-4, "steps_per_s": 110.0}]
    log.write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert gpu_check.log_summary(log) == {"steps_per_s": 105.0, "losses": {"loss_d": 0.8, "loss_g": "nan"}}
    assert gpu_check.log_summary(tmp_path / "none.jsonl") == {}


def test_frechet_torch_matches_ganzoos_numpy_method():
    from ganzoo.metrics.fid import frechet_distance

    mus, covs = gpu_check.random_stats(24, seed=3)
    t = [torch.as_tensor(x, dtype=torch.float64) for x in (mus[0], covs[0], mus[1], covs[1])]
    assert gpu_check.frechet_torch(*t) == pytest.approx(frechet_distance(mus[0], covs[0], mus[1], covs[1]),
                                                        rel=1e-10)
    rng = np.random.default_rng(1)
    low_rank = rng.standard_normal((24, 5))
    singular = low_rank @ low_rank.T  # Cholesky fails: the eigh branch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = frechet_distance(mus[0], singular, mus[1], covs[1])
    got = gpu_check.frechet_torch(t[0], torch.as_tensor(singular), t[2], t[3])
    assert got == pytest.approx(want, rel=1e-8)
    assert abs(gpu_check.frechet_torch(t[0], t[1], t[0], t[1])) < 1e-8


# -- the GPU code paths, run on the CPU at tiny sizes -----------------------------------------------
def test_zoo_run_on_cpu_records_speed_or_the_error(tmp_path):
    path = ROOT / "zoo_configs" / "grid2d_vanilla.yaml"
    ok = {"config": "grid2d_vanilla", "mode": "fp32"}
    gpu_check.attempt(ok, lambda: gpu_check.run_zoo(ok, path, 6, tmp_path, False, "cpu"))
    assert ok["status"] == "ok" and ok["steps"] == 6 and ok["steps_per_s"] > 0, ok
    assert set(ok["losses"]) == {"loss_d", "loss_g"}
    assert not any((tmp_path / "runs").iterdir())  # the run folder is removed
    bad = {"config": "grid2d_vanilla", "mode": "channels_last"}
    gpu_check.attempt(bad, lambda: gpu_check.run_zoo(bad, path, 6, tmp_path, False, "cpu"))
    assert bad["status"] == "error" and bad["error"].startswith("ConfigError:")
    assert "channels_last applies to image data only" in bad["error"] and "\n" not in bad["error"]


def test_plain_dcgan64_has_ganzoos_layers():
    from ganzoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator

    G, D = gpu_check.plain_dcgan64(16, 8, 4)
    ours_g, ours_d = DCGANGenerator(16, 64, 3, 8), DCGANDiscriminator(64, 3, 4)
    shapes = lambda m: [tuple(p.shape) for p in m.parameters()]  # noqa: E731
    assert shapes(G) == shapes(ours_g) and shapes(D) == shapes(ours_d)
    x = G(torch.randn(2, 16, 1, 1))
    assert x.shape == (2, 3, 64, 64) and D(x).numel() == 2


def test_speed_benchmarks_run_on_cpu(tmp_path):
    dcgan = gpu_check.bench_dcgan({"name": "dcgan", "batch": 4}, 2, 2, tmp_path, "cpu", None,
                                  ngf=4, size=64)
    cyc = gpu_check.bench_cyclegan({"name": "cyclegan", "batch": 2}, 2, 2, tmp_path, "cpu", None,
                                   size=32, ngf=4, n_blocks=1)
    for e in (dcgan, cyc):
        assert e["status"] == "ok" and len(e["rounds"]) == 2, e
        ratios = sorted(r["plain_s"] / r["ganzoo_s"] for r in e["rounds"])
        assert e["ratio"] == pytest.approx(sum(ratios) / 2, rel=1e-3)  # median of two
        assert e["ganzoo_images_per_s"] > 0 and e["plain_images_per_s"] > 0


def test_resume_check_on_cpu_is_bit_identical(tmp_path):
    res = gpu_check.resume_check(ROOT / "zoo_configs" / "dcgan.yaml", 2, tmp_path, "cpu")
    assert res["status"] == "ok" and res["identical"] and res["max_abs_diff"] == 0.0, res
    assert res["final_steps"] == [4, 4] and res["tensors"] > 10
    assert not torch.are_deterministic_algorithms_enabled()  # restored afterwards


def test_inception_throughput_on_cpu(tmp_path):
    res = gpu_check.fid_features(tmp_path, 2, 2, "cpu")
    assert set(res["images_per_s"]) == {"contiguous", "channels_last"}
    assert all(v > 0 for v in res["images_per_s"].values())
    assert not (tmp_path / "random_inception.pth").exists()


# -- the wheelhouse script ---------------------------------------------------------------------------
def wheels_list(env_extra: dict | None = None) -> list[str]:
    env = {**os.environ, "PYTHON": sys.executable, **(env_extra or {})}
    proc = subprocess.run(["bash", str(TOOLS / "gpu_wheels.sh"), "--list"], capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_gpu_wheels_lists_what_the_image_lacks():
    reqs = wheels_list()
    names = {r.split(">")[0].split("=")[0].split("<")[0].lower() for r in reqs}
    assert {"pydantic", "platformdirs", "pooch", "packaging", "requests", "safetensors",
            "setuptools"} <= names
    assert not names & {"torch", "numpy", "scipy", "pyyaml", "pluggy", "tensorboard", "tqdm",
                        "matplotlib", "pillow"}


def test_gpu_wheels_reads_new_dependencies_from_pyproject(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[build-system]\nrequires = ["setuptools>=68"]\n'
                         '[project]\nname = "x"\ndependencies = ["torch>=2.2", "Pillow>=10.0", '
                         '"PyYAML", "Brand_New.Dep>=1.2", "pydantic>=2.5"]\n')
    reqs = wheels_list({"GPU_WHEELS_PYPROJECT": str(pyproject)})
    assert "Brand_New.Dep>=1.2" in reqs and "pydantic>=2.5" in reqs and "setuptools>=68" in reqs
    assert not {"torch>=2.2", "Pillow>=10.0", "PyYAML"} & set(reqs)
    assert "pooch" in reqs  # EXTRA, until pyproject.toml lists it
