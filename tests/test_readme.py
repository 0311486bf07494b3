"""The README's quick start is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command():
    main_job, tests = quick_start_commands()
    assert "ganzoo run zoo_configs/" in main_job and "pytest" in tests
    # .ci/run makes its own venv and installs torch first; the rest must be the README's command
    readme_tail = tests.split("pip install torch==2.13.0 && ", 1)[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_tail in ci.splitlines()
    assert "torch==2.13.0" in ci and "venv" in ci


def test_main_job_config_exists():
    main_job, _ = quick_start_commands()
    config = re.search(r"ganzoo run (\S+)", main_job).group(1)
    assert (ROOT / config).is_file()
