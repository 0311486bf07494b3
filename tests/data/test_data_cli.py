"""``ganzoo data list`` and ``ganzoo data download`` through their argparse parser."""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys

import pytest

from ganzoo.commands import data as data_cmd
from ganzoo.errors import DownloadError


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ganzoo")
    data_cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_list_works_offline_and_shows_presence(tmp_path, monkeypatch, capsys, make):
    monkeypatch.setenv("GANZOO_DATA", str(tmp_path))
    (tmp_path / "cyclegan" / "facades").mkdir(parents=True)
    for sub in ("trainA", "trainB", "testA", "testB"):
        (tmp_path / "cyclegan" / "facades" / sub).mkdir()
    assert _run(["data", "list"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert {"mnist", "fashion_mnist", "cifar10", "cifar100", "horse2zebra", "facades"} <= set(rows)
    assert rows["facades"][2] == "yes" and rows["mnist"][2] == "no"
    assert rows["cifar10"][3] == str(tmp_path / "cifar10")


def test_download_from_a_mirror_into_root(server, tmp_path, monkeypatch, capsys, make):
    server.files["/facades/facades.zip"] = make.cyclegan_zip("facades")
    monkeypatch.setenv("GANZOO_DATA_MIRROR", server.url + "/")
    root = tmp_path / "f"
    assert _run(["data", "download", "facades", "--root", str(root), "--no-progress"]) == 0
    assert "unpaired_folders" in capsys.readouterr().out
    assert sorted(p.name for p in root.iterdir()) == ["testA", "testB", "trainA", "trainB"]
    assert _run(["data", "download", "facades", "--root", str(root)]) == 0
    assert "already" in capsys.readouterr().out and server.hits == ["/facades/facades.zip"]


def test_download_unknown_name_suggests(tmp_path):
    from ganzoo.errors import DataError

    with pytest.raises(DataError, match="did you mean 'cifar10'"):
        _run(["data", "download", "cifar01", "--root", str(tmp_path)])


def test_download_offline_names_the_url(closed_port, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_DATA_MIRROR", f"http://127.0.0.1:{closed_port}")
    with pytest.raises(DownloadError, match=f"127.0.0.1:{closed_port}/cifar10/cifar-10-python.tar.gz"):
        _run(["data", "download", "cifar10", "--root", str(tmp_path / "c"), "--no-progress"])


def test_command_module_imports_only_the_standard_library():
    code = ("import sys; import ganzoo.commands.data; "
            "bad = [m for m in ('torch', 'numpy', 'PIL', 'pydantic') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_md5_of_a_served_file_is_checked_by_the_catalogue_entry(server, tmp_path):
    from ganzoo.data.catalog import CatalogEntry, RemoteFile, fetch

    body = b"abc" * 10
    server.files["/x/a.bin"] = body
    ok = CatalogEntry("x", "X", "npz", "x", (RemoteFile(f"{server.url}/x/a.bin",
                                                        md5=hashlib.md5(body).hexdigest()),), ("a.bin",))
    assert (fetch(ok, tmp_path / "x", progress=False) / "a.bin").read_bytes() == body
