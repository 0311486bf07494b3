"""Every command the documentation shows is run as written, so documented usage cannot rot.

What counts as a command: each line of a fenced ```bash block in README.md and docs/*.md
(continuation lines joined, ``#`` comments dropped, ``&&`` chains split), and each ``$ ...`` line
of a ```text block, whose following lines are the output it must print. Untagged ``` blocks
(docs/bench_cyclegan.md's benchmark recipes, minutes each) and the README's command table are
not commands: the table is syntax with placeholders (RUN_DIR, CONFIG), so each of its lines is
checked by parsing it with the real CLI parser after filling the placeholders in.

How each command is checked (one rule per kind, in :func:`run_command`):

* ``ganzoo ...``: run in-process (``ganzoo.cli.main``) in a fresh folder that links the repo's
  ``zoo_configs/`` and ``plugins/``; ``ganzoo run`` gets ``train.steps=2`` appended (the only
  change), must exit 0 and write a checkpoint. A ``ganzoo data download`` is offline here: the
  name must be in the catalogue, and a later ``ganzoo run`` on that data is validated with
  ``ganzoo config check`` (same arguments) instead of trained. A ``ganzoo`` line with a
  placeholder (a cluster address only the reader has, ``HEAD_NODE_IP``) is parsed by the CLI
  parser, and a ``ganzoo bench`` one is planned with ``--dry-run`` (configs, grid and options
  checked; nothing started).
* ``pip install``: checked, not re-run: the named distribution (and the extras' requirements,
  the torch pin) must be installed. A package the docs create first (the scaffold) is installed
  the way pip would expose it: a ``.dist-info`` with its entry points, on ``sys.path``.
* ``python -m venv`` / ``. .venv/bin/activate``: the environment itself, not checked.
* ``python -m pytest``: run in a subprocess, except the README's whole-suite command, which is the
  one running this test (``tests/test_readme.py`` checks that CI runs exactly it).
* ``torchrun``: both parsers must accept the line (torchrun's and ganzoo's) and the config must
  validate; ``GANZOO_DOCS_TORCHRUN=1`` also runs it (4 processes: a minute on 2 CPU cores).
  Lines with placeholders (``HOST_OF_NODE_0``) are parsed only.
* ``python tools/...``: run, with ``/tmp/...`` paths moved into the sandbox folder.
  ``bash tools/...``: the scripts download wheels, so only their syntax is checked (``bash -n``).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the copy pip vendors
    from pip._vendor import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b(?:RUN_DIR|CONFIG|INPUT|OUTPUT|NAME)\b")


# -- extracting commands ------------------------------------------------------------------------
@dataclass
class Command:
    doc: str
    line: int
    words: list[str]
    expected: list[str] = field(default_factory=list)  # output lines shown after a `$ ` line
    comment: str = ""  # the `# ...` after it in a bash block

    @property
    def text(self) -> str:
        return shlex.join(self.words)


def fenced_blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """(language, line number of the first content line, lines) of every fenced block."""
    blocks, lang, start, body = [], None, 0, []
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            if lang is None:
                lang, start, body = line[3:].strip(), n + 1, []
            else:
                blocks.append((lang, start, body))
                lang = None
        elif lang is not None:
            body.append(line)
    return blocks


def _bash_commands(doc: str, start: int, lines: list[str]) -> list[Command]:
    out, pending, first = [], "", start
    for n, line in enumerate(lines, start):
        if not pending:
            first = n
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        words = shlex.split(pending + line, comments=True)
        comment = line.split(" # ", 1)[1].strip() if " # " in line else ""
        pending = ""
        chunk: list[str] = []
        for word in words + ["&&"]:
            if word == "&&":
                if chunk:
                    out.append(Command(doc, first, chunk, comment=comment))
                chunk = []
            else:
                chunk.append(word)
    return out


def _text_commands(doc: str, start: int, lines: list[str]) -> list[Command]:
    out: list[Command] = []
    for n, line in enumerate(lines, start):
        if line.startswith("$ "):
            out.append(Command(doc, n, shlex.split(line[2:], comments=True)))
        elif out:
            out[-1].expected.append(line)
    return out


def doc_commands(path: Path) -> list[Command]:
    doc = path.relative_to(REPO).as_posix()
    out: list[Command] = []
    for lang, start, lines in fenced_blocks(path.read_text(encoding="utf-8")):
        if lang in ("bash", "sh", "shell", "console"):
            out += _bash_commands(doc, start, lines)
        elif lang == "text":
            out += _text_commands(doc, start, lines)
    return out


# -- the sandbox a document's commands run in ---------------------------------------------------
class Sandbox:
    """A working folder, the plugins "installed" so far and the data sets not downloaded."""

    def __init__(self, root: Path, monkeypatch) -> None:
        self.root, self.monkeypatch = root, monkeypatch
        self.site = root / ".site"
        self.site.mkdir()
        self.paths: list[str] = [str(self.site)]
        self.not_downloaded: set[str] = set()
        for name in ("zoo_configs", "plugins", "tools"):
            (root / name).symlink_to(REPO / name)
        monkeypatch.chdir(root)
        monkeypatch.syspath_prepend(str(self.site))
        for var in ("GANZOO_STRICT_PLUGINS", "GANZOO_DISABLE_PLUGINS"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("GANZOO_DATA", str(root / ".data"))
        monkeypatch.setenv("GANZOO_CACHE", str(root / ".cache"))

    def install(self, package: Path) -> None:
        """What ``pip install -e PACKAGE`` exposes: the package importable, its metadata and
        entry points visible to importlib.metadata."""
        project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
        name, version = project["name"], project["version"]
        info = self.site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        groups = project.get("entry-points", {})
        (info / "entry_points.txt").write_text("".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in groups.items()))
        self.paths.append(str(package.resolve()))
        self.monkeypatch.syspath_prepend(str(package.resolve()))
        self._reset()

    def _reset(self) -> None:
        import importlib

        from ganzoo.plugins import reset_registry

        importlib.invalidate_caches()
        reset_registry()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["PYTHONPATH"] = os.pathsep.join(self.paths + [str(REPO)])
        return env


def cli(argv: list[str]) -> tuple[int, str, str]:
    """``ganzoo ARGV`` in this process: (exit status, stdout, stderr)."""
    from ganzoo.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


# -- one rule per kind of command ---------------------------------------------------------------
def check_installed(words: list[str], box: Sandbox) -> None:
    """``pip install [-e] SPEC ...``: each distribution is installed (a local project that is not,
    such as a fresh scaffold, is installed into the sandbox)."""
    from packaging.requirements import Requirement

    specs = [w for w in words[2:] if not w.startswith("-")]
    for spec in specs:
        extras = re.search(r"\[(.+)\]$", spec)
        path = re.sub(r"\[.*\]$", "", spec)
        local = next((base / path for base in (box.root, REPO)
                      if (base / path / "pyproject.toml").is_file()), None)
        if local is not None:
            project = tomllib.loads((local / "pyproject.toml").read_text())["project"]
            try:
                metadata.distribution(project["name"])
            except metadata.PackageNotFoundError:
                box.install(local)
                continue
            wanted = project.get("optional-dependencies", {})
            for extra in (extras.group(1).split(",") if extras else []):
                for req in wanted.get(extra.strip(), []):
                    assert _installed(Requirement(req)), f"{spec}: {req} (extra {extra}) is not installed"
        else:
            assert _installed(Requirement(spec)), f"{spec} is not installed"


def _installed(req) -> bool:
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        return False
    return req.specifier.contains(version, prereleases=True) if req.specifier else True


def run_ganzoo(argv: list[str], cmd: Command, box: Sandbox) -> tuple[int, str, str]:
    if PLACEHOLDER.search(cmd.text):
        from ganzoo.cli import build_parser

        build_parser().parse_args(argv)  # exits (fails the test) on a bad option
        return cli([*argv, "--dry-run"]) if argv[:1] == ["bench"] else (0, "", "")
    if argv[:2] == ["data", "download"]:
        from ganzoo.data.catalog import CATALOG

        assert argv[2] in CATALOG, f"{cmd.doc}:{cmd.line}: unknown data set {argv[2]!r}"
        box.not_downloaded.add(argv[2])
        return 0, "", ""
    if argv[:1] == ["run"]:
        if any(f"data.name={name}" in argv for name in box.not_downloaded):
            return cli(["config", "check", *argv[1:]])
        code, out, err = cli([*argv, "train.steps=2"])
        assert code != 0 or "finished 2 steps" in err, err
        return code, out, err
    return cli(argv)


def run_torchrun(cmd: Command, box: Sandbox) -> None:
    from torch.distributed.run import parse_args

    from ganzoo.cli import build_parser

    args = parse_args(cmd.words[1:])
    assert args.module and args.training_script == "ganzoo", cmd.text
    ganzoo_args = build_parser().parse_args(args.training_script_args)
    if PLACEHOLDER.search(cmd.text):
        return
    code, _, err = cli(["config", "check", ganzoo_args.config, *ganzoo_args.overrides])
    assert code == 0, err
    if os.environ.get("GANZOO_DOCS_TORCHRUN") == "1":
        done = subprocess.run([sys.executable, "-m", "torch.distributed.run", *cmd.words[1:],
                               "train.steps=2"], env=box.env(), capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]


def run_command(cmd: Command, box: Sandbox) -> tuple[int, str, str] | None:
    """Check one command by its kind (see the module docstring); None when nothing ran."""
    words = cmd.words
    if words[0] == "ganzoo":
        return run_ganzoo(words[1:], cmd, box)
    if words[:2] == ["pip", "install"] or words[:4] == ["python", "-m", "pip", "install"]:
        check_installed(words if words[0] == "pip" else words[2:], box)
        return None
    if words[:3] in (["python3", "-m", "venv"], ["python", "-m", "venv"]) or words[0] in (".", "source"):
        return None
    if words[:3] == ["python", "-m", "pytest"]:
        if "tests" in words and "plugins/ganzoo-sngan/tests" in words:
            return None  # the whole suite: this test is part of it
        done = subprocess.run([sys.executable, *words[1:], "-q", "-p", "no:cacheprovider"],
                              env=box.env(), capture_output=True, text=True, timeout=600)
        return done.returncode, done.stdout, done.stderr
    if words[0] == "torchrun":
        run_torchrun(cmd, box)
        return None
    if words[0] in ("python", "python3") and words[1].startswith("tools/"):
        argv = [str(box.root / w[1:]) if w.startswith("/tmp/") else w for w in words[1:]]
        done = subprocess.run([sys.executable, *argv], env=box.env(), capture_output=True, text=True,
                              timeout=600)
        return done.returncode, done.stdout, done.stderr
    if words[0] == "bash" and words[1].startswith("tools/"):  # downloads wheels: syntax only here
        done = subprocess.run(["bash", "-n", words[1]], capture_output=True, text=True, timeout=60)
        return done.returncode, done.stdout, done.stderr
    raise AssertionError(f"{cmd.doc}:{cmd.line}: no rule to check {cmd.text!r}; add one to "
                         f"tests/test_docs_commands.py")


# -- what each document needs before its commands -----------------------------------------------
def prepare(doc: str, box: Sandbox) -> None:
    """Files a document's commands take for granted: the README's bad.yaml (its config example
    with the typo the text describes), and the plugin guide's example package, installed."""
    if doc == "README.md":
        text = (REPO / "README.md").read_text(encoding="utf-8")
        example = next(body for lang, _, body in fenced_blocks(text) if lang == "yaml")
        bad = "\n".join(example).replace("\ntrain:", "\ntrian:", 1) + "\n"
        assert "trian:" in bad
        (box.root / "bad.yaml").write_text(bad)
    if doc == "docs/plugins.md":
        from test_docs_plugins import doc_text, write_example

        package = box.root / "my_zoo_package"
        write_example(package)
        toml = next(body for lang, _, body in fenced_blocks(doc_text()) if lang == "toml")
        (package / "pyproject.toml").write_text("\n".join(toml) + "\n")
        box.install(package)


def check_output(cmd: Command, code: int, out: str, err: str) -> None:
    where = f"{cmd.doc}:{cmd.line}: {cmd.text}\n--- stdout ---\n{out[-3000:]}\n--- stderr ---\n{err[-3000:]}"
    if not cmd.expected:
        assert code == 0, where
        if cmd.words == ["ganzoo", "plugins"] and "[loaded]" in cmd.comment:  # the line it shows
            assert cmd.comment in out.splitlines(), f"not listed: {cmd.comment!r}\n{where}"
        return
    shown = [line for line in cmd.expected if line.strip()]
    printed = (out + err).splitlines()
    wants_error = any(line.startswith("ganzoo: error:") for line in shown)
    assert (code == 2) if wants_error else (code == 0), where
    missing = [line for line in shown if line not in printed]
    assert not missing, f"documented output not printed: {missing}\n{where}"


def test_every_document_with_commands_is_covered():
    """The documents this test runs are the ones with commands (a new doc cannot slip by)."""
    with_commands = {p.relative_to(REPO).as_posix() for p in DOCS if doc_commands(p)}
    assert with_commands == {"README.md", "docs/plugins.md", "docs/training.md", "docs/configs.md",
                             "docs/sweeps.md", "docs/super_resolution.md", "docs/importing.md"}


@pytest.mark.parametrize("doc", [p.relative_to(REPO).as_posix() for p in DOCS if doc_commands(p)])
def test_documented_commands_work(doc, tmp_path, monkeypatch):
    box = Sandbox(tmp_path, monkeypatch)
    box._reset()
    try:
        prepare(doc, box)
        for cmd in doc_commands(REPO / doc):
            result = run_command(cmd, box)
            if result is not None:
                check_output(cmd, *result)
    finally:
        box._reset()
        for name in [m for m in sys.modules if m.startswith(("my_zoo", "ganzoo_my_gan"))]:
            del sys.modules[name]


# -- the README's command table: syntax lines, parsed ------------------------------------------
SAMPLE_VALUES = {"RUN_DIR": "runs/r", "CONFIG": "cfg.yaml", "INPUT": "in.png", "OUTPUT": "out.png",
                 "N": "100", "K": "1", "NAME": "mnist", "KEY=VALUE": "train.steps=2", "A": "a",
                 "B": "b"}


def table_syntax_lines() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## The command line", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(ganzoo [^`]+)` \|", section, flags=re.M)


def expand(syntax: str) -> list[list[str]]:
    """Concrete argument lists for one syntax line: every ``a\\|b`` alternative, optional
    ``[...]`` parts left out and filled in, placeholders replaced by sample values."""
    syntax = syntax.replace("\\|", "|")
    variants = [syntax]
    while any("|" in v for v in variants):
        v = next(v for v in variants if "|" in v)
        words = v.split(" ")
        i = next(i for i, w in enumerate(words) if "|" in w and not w.startswith("["))
        variants.remove(v)
        variants += [" ".join(words[:i] + [alt] + words[i + 1:]) for alt in words[i].split("|")]
    out = []
    for v in variants:
        for keep in (False, True):
            text = re.sub(r"\[([^\]]*)\]", (lambda m: m.group(1).replace(" ...", "")) if keep else "", v)
            words = [SAMPLE_VALUES.get(w, w) for w in text.split()]
            out.append(words[1:])
    return out


def parses(argv: list[str]) -> str | None:
    """None if the CLI parser accepts ``argv`` as a command, else what it printed."""
    from ganzoo.cli import build_parser

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            args = build_parser().parse_args(argv)
        except SystemExit:
            return err.getvalue()
    return None if getattr(args, "func", None) is not None else "no command"


@pytest.mark.parametrize("syntax", table_syntax_lines())
def test_readme_table_syntax_parses(syntax):
    """Each alternative parses with its words as shown; a trailing placeholder may belong to
    another alternative only (`data list\\|download NAME`)."""
    assert len(table_syntax_lines()) >= 10
    for argv in expand(syntax):
        tries = [argv] + [argv[:-k] for k in range(1, len(argv))
                          if all(w in SAMPLE_VALUES.values() for w in argv[-k:])]
        errors = [parses(t) for t in tries]
        assert None in errors, f"README syntax {syntax!r} as {argv}: {errors[0]}"
