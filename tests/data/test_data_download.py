"""Downloads and archives against a real HTTP server on 127.0.0.1 started by the tests."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ganzoo.data.catalog import CATALOG, CatalogEntry, RemoteFile, fetch, is_present
from ganzoo.download import cache_dir, data_dir, download, extract
from ganzoo.errors import DownloadError


def _md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def test_cache_and_data_dirs_follow_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "c"))
    monkeypatch.delenv("GANZOO_DATA", raising=False)
    assert cache_dir("weights") == tmp_path / "c" / "weights" and (tmp_path / "c" / "weights").is_dir()
    assert data_dir() == tmp_path / "c" / "data"
    monkeypatch.setenv("GANZOO_DATA", str(tmp_path / "d"))
    assert data_dir() == tmp_path / "d" and data_dir().is_dir()


def test_download_verifies_and_reuses(server, tmp_path):
    body = os.urandom(200_000)
    server.files["/f.bin"] = body
    dest = tmp_path / "sub" / "f.bin"
    out = download(f"{server.url}/f.bin", dest, md5=_md5(body), progress=True)
    assert out == dest and dest.read_bytes() == body
    assert download(f"{server.url}/f.bin", dest, sha256=hashlib.sha256(body).hexdigest(),
                    sha256_prefix=hashlib.sha256(body).hexdigest()[:10]) == dest
    assert server.hits == ["/f.bin"]  # the verified file was reused, not fetched again
    assert sorted(p.name for p in dest.parent.iterdir()) == ["f.bin"]


def test_checksum_mismatch_names_url_expected_and_got(server, tmp_path):
    body = b"not what you expected" * 100
    server.files["/bad.bin"] = body
    dest = tmp_path / "bad.bin"
    with pytest.raises(DownloadError) as err:
        download(f"{server.url}/bad.bin", dest, md5="0" * 32, progress=False)
    msg = str(err.value)
    assert f"{server.url}/bad.bin" in msg and "0" * 32 in msg and _md5(body) in msg
    assert list(tmp_path.iterdir()) == []  # temp file removed, no dest


def test_existing_file_with_wrong_checksum_is_fetched_again(server, tmp_path):
    body = b"good" * 1000
    server.files["/g.bin"] = body
    dest = tmp_path / "g.bin"
    dest.write_bytes(b"stale")
    download(f"{server.url}/g.bin", dest, md5=_md5(body), progress=False)
    assert dest.read_bytes() == body


def test_interrupted_download_leaves_nothing(server, tmp_path):
    server.files["/big.bin"] = os.urandom(50_000)
    dest = tmp_path / "big.bin"
    with pytest.raises(DownloadError, match="interrupted") as err:
        download(f"{server.url}/short/big.bin", dest, progress=False, retries=1)
    assert str(dest) in str(err.value)
    assert server.hits == ["/short/big.bin"] * 2  # tried again once, then given up
    assert list(tmp_path.iterdir()) == []


def test_a_cut_transfer_is_tried_again(server, tmp_path):
    body = os.urandom(40_000)
    server.files["/flaky.bin"] = body
    server.cut["/flaky.bin"] = 1  # the first request is cut off half way
    dest = tmp_path / "flaky.bin"
    assert download(f"{server.url}/flaky.bin", dest, md5=_md5(body), progress=False) == dest
    assert dest.read_bytes() == body and server.hits == ["/flaky.bin"] * 2
    assert list(tmp_path.iterdir()) == [dest]


def test_client_errors_and_checksum_mismatches_are_not_retried(server, tmp_path):
    server.files["/changed.bin"] = b"new content"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(f"{server.url}/changed.bin", tmp_path / "c.bin", md5="0" * 32, progress=False)
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{server.url}/gone.bin", tmp_path / "g.bin", progress=False)
    assert server.hits == ["/changed.bin", "/gone.bin"]
    assert list(tmp_path.iterdir()) == []


def test_offline_error_names_url_and_where_to_put_the_file(closed_port, tmp_path):
    url = f"http://127.0.0.1:{closed_port}/x.tar.gz"
    dest = tmp_path / "x.tar.gz"
    with pytest.raises(DownloadError) as err:
        download(url, dest, progress=False, timeout=5)
    assert url in str(err.value) and str(dest) in str(err.value) and "by hand" in str(err.value)
    assert not dest.exists()


def test_http_error_is_a_download_error(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download(f"{server.url}/missing", tmp_path / "m", progress=False)


# -- archives ------------------------------------------------------------------------------------


def _tar(members: list[tarfile.TarInfo], payload: bytes = b"data") -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for m in members:
            if m.isfile():
                m.size = len(payload)
                tar.addfile(m, io.BytesIO(payload))
            else:
                tar.addfile(m)
    return buf.getvalue()


def _sym(name: str, target: str, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize("members", [
    [tarfile.TarInfo("ok.txt"), tarfile.TarInfo("../escape.txt")],
    [tarfile.TarInfo("/tmp/abs-escape.txt")],
    [tarfile.TarInfo("a/../../escape.txt")],
    [_sym("link", "../../outside")],
    [_sym("link", "/etc/passwd")],
    [_sym("hard", "../outside", hard=True)],
], ids=["dotdot", "absolute", "nested-dotdot", "symlink-out", "symlink-abs", "hardlink-out"])
def test_tar_escapes_are_refused(tmp_path, members):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(_tar(members))
    target = tmp_path / "out" / "inner"
    with pytest.raises(DownloadError, match="refusing to extract"):
        extract(archive, target)
    assert list(target.iterdir()) == []  # nothing written, not even the safe member
    assert not (tmp_path / "out" / "escape.txt").exists() and not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize("name", ["../escape.txt", "/abs.txt", "a/../../escape.txt"])
def test_zip_escapes_are_refused(tmp_path, name):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("fine.txt", b"ok")
        zf.writestr(zipfile.ZipInfo(name), b"evil")
    archive = tmp_path / "evil.zip"
    archive.write_bytes(buf.getvalue())
    target = tmp_path / "out" / "inner"
    with pytest.raises(DownloadError, match="outside"):
        extract(archive, target)
    assert list(target.iterdir()) == []


def test_extract_safe_archives(tmp_path, make):
    tar_bytes, batches = make.cifar_tar("cifar10", 2)
    (tmp_path / "c.tar.gz").write_bytes(tar_bytes)
    extract(tmp_path / "c.tar.gz", tmp_path / "t")
    assert sorted(p.name for p in (tmp_path / "t" / "cifar-10-batches-py").iterdir()) == sorted(batches)
    (tmp_path / "z.zip").write_bytes(make.cyclegan_zip("s"))
    extract(tmp_path / "z.zip", tmp_path / "z")
    assert len(list((tmp_path / "z" / "s" / "trainA").glob("*.jpg"))) == 3
    (tmp_path / "junk").write_bytes(b"neither tar nor zip")
    with pytest.raises(DownloadError, match="not a tar or zip"):
        extract(tmp_path / "junk", tmp_path / "j")


# -- the catalogue --------------------------------------------------------------------------------


def test_catalogue_records_published_checksums():
    assert CATALOG["cifar10"].files[0].md5 == "c58f30108f718f92721af3b95e74349a"
    assert CATALOG["cifar100"].files[0].md5 == "eb9058c3a382ffc7106e4002c42a8d85"
    assert CATALOG["mnist"].files[0].url.startswith("https://ossci-datasets.s3.amazonaws.com/mnist/")
    assert all(f.md5 and len(f.md5) == 32 for n in ("mnist", "fashion_mnist") for f in CATALOG[n].files)
    h2z = CATALOG["horse2zebra"]
    assert h2z.files[0].md5 is None and h2z.files[0].sha256 is None and "no published checksum" in h2z.note


def test_fetch_idx_files_then_load_mnist(server, tmp_path, make):
    files = make.mnist_files(n_train=12, n_test=5)
    remote = []
    for name, (_, data) in files.items():
        server.files[f"/m/{name}"] = data
        remote.append(RemoteFile(f"{server.url}/m/{name}", md5=_md5(data)))
    entry = CatalogEntry("mnist", "MNIST", "mnist", "mnist", tuple(remote), tuple(files))
    root = fetch(entry, tmp_path / "mnist", progress=False)
    assert is_present(entry, root)
    from ganzoo.data.mnist import MNIST

    src = MNIST(MNIST.Options(name="mnist", root=str(root)))
    ds = src.dataset("train")
    x, y = files["train-images-idx3-ubyte.gz"][0], files["train-labels-idx1-ubyte.gz"][0]
    item = ds[3]
    assert item["x"].shape == (1, 28, 28)
    assert np.allclose(item["x"][0].numpy(), x[3] / 127.5 - 1, atol=1e-6) and int(item["y"]) == y[3]


def test_fetch_cifar_archive_strips_top_folder(server, tmp_path, make):
    data, batches = make.cifar_tar("cifar10", 3)
    server.files["/cifar-10-python.tar.gz"] = data
    entry = CatalogEntry("cifar10", "CIFAR-10", "cifar10", "cifar10",
                         (RemoteFile(f"{server.url}/cifar-10-python.tar.gz", md5=_md5(data), archive=True),),
                         CATALOG["cifar10"].markers)
    root = fetch(entry, tmp_path / "c10", progress=False)
    assert sorted(p.name for p in root.iterdir()) == sorted(batches)  # archive removed after unpacking
    from ganzoo.data.cifar import CIFAR10

    ds = CIFAR10(CIFAR10.Options(name="cifar10", root=str(root))).dataset("test")
    assert len(ds) == 3 and ds[0]["x"].shape == (3, 32, 32)


def test_fetch_cyclegan_zip_without_checksum_checks_the_zip(server, tmp_path, make):
    server.files["/tiny2set.zip"] = make.cyclegan_zip("tiny2set")
    entry = CatalogEntry("tiny2set", "tiny", "unpaired_folders", "cyclegan/tiny2set",
                         (RemoteFile(f"{server.url}/tiny2set.zip", archive=True),),
                         ("trainA", "trainB", "testA", "testB"))
    root = fetch(entry, tmp_path / "tiny", progress=False)
    assert len(list((root / "trainA").iterdir())) == 3 and not (root / "tiny2set.zip").exists()
    # a corrupted zip (one flipped byte inside a member) fails its CRC check and is deleted
    good = bytearray(make.cyclegan_zip("other"))
    pos = good.find(b"JFIF") + 200
    good[pos] ^= 0xFF
    server.files["/other.zip"] = bytes(good)
    bad = CatalogEntry("other", "other", "unpaired_folders", "x", (RemoteFile(f"{server.url}/other.zip",
                                                                              archive=True),), ("trainA",))
    with pytest.raises(DownloadError, match="CRC|valid zip"):
        fetch(bad, tmp_path / "other", progress=False)
    assert not (tmp_path / "other" / "other.zip").exists()


def test_mirror_is_used_and_real_checksums_are_enforced(server, tmp_path, monkeypatch, make):
    # the mirror serves files that are not the real MNIST: the published md5 must reject them
    for name, (_, data) in make.mnist_files().items():
        server.files[f"/mnist/{name}"] = data
    monkeypatch.setenv("GANZOO_DATA_MIRROR", server.url)
    from ganzoo.data.mnist import MNIST
    from ganzoo.errors import DataError

    src = MNIST(MNIST.Options(name="mnist", root=str(tmp_path / "m"), download=True))
    with pytest.raises(DownloadError, match="f68b3c2dcbeaaa9fbdd348bbdeb94873") as err:
        src.info()
    assert f"{server.url}/mnist/train-images-idx3-ubyte.gz" in str(err.value)
    assert not any((tmp_path / "m").iterdir())
    with pytest.raises(DataError, match="ganzoo data download mnist"):
        MNIST(MNIST.Options(name="mnist", root=str(tmp_path / "m"))).info()
