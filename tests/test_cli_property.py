"""The CLI's promise, as a property: whatever config, overrides and arguments it gets, ganzoo
exits 0, 2 or 130, never with a traceback, writes nothing outside the run folder and the outputs
it was asked for, and when it exits 2 leaves every file that existed before as it was.

Hypothesis drives ``ganzoo.cli.main`` in-process (it returns the exit status; an exception that
escapes it is a traceback) with a tiny vanilla GAN on ``ring`` points: mutated run configs (edge
values at known keys, unknown keys, dropped sections, malformed YAML), mutated ``KEY=VALUE``
overrides, and mutated ``sample``/``eval``/``resume`` arguments against a trained 2-step run;
output paths that collide with existing files (the run's own config, checkpoint and previews, a
user's file), with and without ``--force``; and environment variables (``GANZOO_CACHE``,
``GANZOO_DATA``, ``GANZOO_INCEPTION_WEIGHTS``, ``HOME``) that point at files, under files, or
where nothing can be created. A run's own files never change unless the command trains it, and
an existing file named as an output changes only with ``--force``.
Training never exceeds 2 steps (``train.steps`` only takes small or refused values).
Deterministic by default (a fixed set of examples for CI); ``GANZOO_PROPERTY_RANDOM=1`` explores.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ganzoo.cli import main

BASE = {"run": {"name": "r", "out_dir": "runs"}, "seed": 0, "device": "cpu",
        "variant": {"name": "vanilla", "z_dim": 2, "g_hidden": [8], "d_hidden": [8]},
        "data": {"name": "ring", "size": 64},
        "train": {"steps": 2, "batch_size": 8},
        "log": {"every": 1, "image_every": 2, "num_images": 4, "tensorboard": False, "progress": False},
        "checkpoint": {"every": 2, "keep": 2}}

#: Values every schema must judge: wrong types, out of range, refused sizes, dates, NaN.
EDGE = [0, -1, 1, 2, 10**30, 2**63, 2.5, -0.5, 1e308, float("nan"), float("inf"), True, False,
        None, "", "x", "2024-01-01", [], [1], [-1], {}, {"a": 1}]
SMALL = [0, -1, 1, 2, 10**30, 2.5, True, None, "x", "2024-01-01"]  # for keys that set work done
#: Keys mutated, with the values they may take (small ones where a value sets how long it runs).
KEYS = {
    ("run", "name"): EDGE + [".", "..", "a/b", "cfg.yaml"], ("run", "out_dir"): ["runs", "", "cfg.yaml/x", 3],
    ("seed",): EDGE, ("device",): ["cpu", "auto", "gpu", "cuda", "cuda:3", "mps", 1],
    ("precision",): ["fp32", "bf16", "fp16", "fp64", None],
    ("train", "steps"): SMALL, ("train", "batch_size"): SMALL, ("train", "accumulate"): SMALL,
    ("train", "num_workers"): [0, -1, 10**6, "x", 1.5], ("train", "stpes"): [2],
    ("log", "every"): SMALL, ("log", "num_images"): SMALL + [4096], ("log", "jsonl"): EDGE,
    ("checkpoint", "every"): SMALL, ("checkpoint", "keep"): SMALL,
    ("ema",): [None, {"decay": 0.5}, {"decay": 1.5}, {"decay": float("nan")}, "x"],
    ("eval",): [None, {"metrics": []}, {"metrics": ["modes"], "n": 16, "every": 2}, {"metrics": ["nope"]}],
    # variant keys whose bad values are refused by the schema today; g_hidden, betas and sizes
    # that pass the schema but not an allocation join once the trainer calls
    # ganzoo.safety.build_variant_safely (see the report of the bad-inputs issue)
    ("variant", "name"): ["vanilla", "vanila", "dcgan", 3, None], ("variant", "z_dim"): SMALL,
    ("variant", "lr_g"): EDGE, ("variant", "loss"): ["bce", "hinj", "wasserstein", 1],
    ("variant", "init_std"): [None, 0.02, float("nan"), float("inf")], ("variant", "nope"): [1],
    ("variant", "g_hidden"): [[8], [-1], [10**12]], ("variant", "betas"): [[0.5, 0.999], [2, 3]],
    ("variant", "regularizers"): [[{"name": "r1", "every": 2}], [{"name": "r9"}], ["lecam"], 3],
    ("data", "name"): ["ring", "grid", "rign", "npz", None], ("data", "size"): [64, 0, -1, "x", 10**30],
    ("variant",): [None, "vanilla", [], {}], ("data",): [None, "ring", {}],
}
BROKEN_YAML = ["run: {name: r\n", "a: &a [*a]\n", "x: " + "[" * 80 + "]" * 80 + "\n",
               "train:\n  steps: 2\n  steps: 3\n", "seed: " + "9" * 200 + "\n", "- a\n- b\n",
               "!!python/object/apply:os.system ['true']\n", "\t\x00\xff", ""]


def dump(value) -> str:
    """A value as the user would type it after ``KEY=``."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("\n...").strip()


@st.composite
def configs(draw) -> tuple[str, list[str]]:
    """(config file text, overrides)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(BROKEN_YAML)), []
    cfg = yaml.safe_load(yaml.safe_dump(BASE))
    keys = sorted(KEYS)
    for path in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
        node = cfg
        for part in path[:-1]:
            node = node.setdefault(part, {}) if isinstance(node.get(part), dict) else {}
        node[path[-1]] = draw(st.sampled_from(KEYS[path]))
    overrides = []
    for path in draw(st.lists(st.sampled_from(keys), max_size=2)):
        value = draw(st.sampled_from(KEYS[path]))
        overrides.append(".".join(path) + "=" + draw(st.sampled_from([dump(value), "[", "&a [*a]"])))
    return yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), overrides


OUTPUTS = ["out/grid.png", "out/new/deep/grid.png", "runs", "cfg.yaml/grid.png", "cfg.yaml",
           "mine.png", "runs/trained/config.yaml", "runs/trained/checkpoints/step_00000002.pt",
           "runs/trained/samples/final.png", "runs/trained/log.jsonl", "runs/trained/samples/mine.png"]
#: environment settings drawn for every example: unset, a file, a folder under a file, /proc
ENVS = {"GANZOO_CACHE": [None, "cfg.yaml", "cfg.yaml/cache", "/proc/ganzoo-cache", "cache"],
        "GANZOO_DATA": [None, "cfg.yaml", "mine.png/data", "/proc/ganzoo-data"],
        "GANZOO_INCEPTION_WEIGHTS": [None, "cfg.yaml", "missing.pth"],
        "HOME": [None, "/proc/nohome", "cfg.yaml"]}
COMMANDS = {
    "sample": lambda d: ["sample", "runs/trained", *d(st.lists(st.sampled_from([
        ["-n", "4"], ["-n", "0"], ["-n", "-3"], ["-n", "x"], ["-n", "200000000"], ["--class", "1"],
        ["--seed", "-1"], ["--seed", str(2**40)], ["--device", "gpu"], ["--device", "cuda:0"], ["--force"],
        ["-o", d(st.sampled_from(OUTPUTS))], ["--npz", d(st.sampled_from(["out/s.npz", "out/s", "cfg.yaml/s"]))],
        ["--checkpoint", d(st.sampled_from(["cfg.yaml", "missing.pt", "runs"]))]]), max_size=3)), []],
    "eval": lambda d: ["eval", "runs/trained", "-n", d(st.sampled_from(["16", "0", "1", "x", "99999999999"])),
                       *d(st.sampled_from([[], ["--metrics", "modes"], ["--metrics", ","], ["--metrics", "nope"],
                                           ["--split", "nope"], ["--device", "gpu"],
                                           ["--metrics", "fid", "--extractor", "raw"]]))],
    "resume": lambda d: ["resume", d(st.sampled_from(["runs/trained", "runs", "cfg.yaml", "missing"])),
                         *d(st.sampled_from([[], ["train.steps=3"], ["train.steps=1"], ["data.name=grid"],
                                             ["variant.g_hidden=[16]"], ["train.steps=x"]]))],
}


def snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli-property")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        Path("trained.yaml").write_text(yaml.safe_dump({**BASE, "run": {"name": "trained", "out_dir": "runs"}}))
        assert main(["run", "trained.yaml"]) == 0
    finally:
        os.chdir(cwd)
    return root


def run_cli(root: Path, argv: list[str], env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    saved = {k: os.environ.get(k) for k in env or {}}
    os.chdir(root)
    try:
        for k, v in (env or {}).items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        os.chdir(cwd)
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return code, out.getvalue(), err.getvalue()


def named_outputs(argv: list[str]) -> set[str]:
    named = {argv[i + 1] for i, w in enumerate(argv[:-1]) if w in ("-o", "--npz")}
    return named | {n + ".npz" for n in named}


def allowed_new(argv: list[str], path: str, env: dict[str, str | None] | None = None) -> bool:
    """New files may appear under the out_dir (runs/), at the outputs the command names and in
    a cache folder the environment names."""
    named = named_outputs(argv) | {v for k, v in (env or {}).items() if v and k == "GANZOO_CACHE"}
    return path.startswith("runs/") or path in named or any(path.startswith(n.rstrip("/") + "/") for n in named)


def run_owned(path: str) -> bool:
    """The trained run's own files (what only training may change)."""
    inside = path.removeprefix("runs/trained/")
    return path.startswith("runs/trained/") and (
        not inside.startswith("samples/") or inside.startswith(("samples/step_", "samples/final")))


@pytest.mark.parametrize("kind", ["run", "config check", "config show", "sample", "eval", "resume"])
@settings(max_examples=7, deadline=None, database=None,
          derandomize=os.environ.get("GANZOO_PROPERTY_RANDOM") != "1",
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_cli_never_crashes_and_never_loses_files(sandbox: Path, kind: str, data) -> None:
    if kind in COMMANDS:
        argv = COMMANDS[kind](data.draw)
        argv = [w for part in argv for w in (part if isinstance(part, list) else [part])]
    else:
        text, overrides = data.draw(configs())
        (sandbox / "cfg.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
        argv = [*kind.split(), "cfg.yaml", *overrides]
    (sandbox / "cfg.yaml").touch()
    (sandbox / "mine.png").write_bytes(b"a user's file")
    env = {k: data.draw(st.sampled_from(v)) for k, v in ENVS.items()} if data.draw(st.booleans()) else {}
    before = snapshot(sandbox)
    code, out, err = run_cli(sandbox, argv, env)
    after = snapshot(sandbox)
    event(f"{kind}: exit {code}")  # --hypothesis-show-statistics shows the mix
    where = f"ganzoo {' '.join(argv)}\n--- stderr ---\n{err[-2000:]}"
    assert code in (0, 2, 130), where
    assert "Traceback" not in err, where
    if code == 2:
        assert err.rstrip("\n").splitlines()[-1].startswith("ganzoo: error: "), where
    changed = [p for p, digest in before.items() if after.get(p) != digest]
    new = [p for p in after if p not in before]
    where = f"{' '.join(f'{k}={v}' for k, v in env.items() if v)} {where}"
    outside = [p for p in new + changed if not allowed_new(argv, p, env)]
    assert not outside, f"wrote outside the run folder and the named outputs: {outside}\n{where}"
    if kind not in ("run", "resume"):
        touched = [p for p in changed if run_owned(p) and not p.endswith("/eval.jsonl")]
        assert not touched, f"a run's own files changed: {touched}\n{where}"
    if "--force" not in argv:
        clobbered = [p for p in changed if p in named_outputs(argv)]
        assert not clobbered, f"an existing file was replaced without --force: {clobbered}\n{where}"
    if code == 2:
        assert not changed, f"an error changed earlier files: {changed}\n{where}"
        if kind not in ("run", "resume"):
            assert not new, f"an error left new files: {new}\n{where}"
