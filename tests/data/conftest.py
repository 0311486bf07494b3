"""Fixtures for the data tests: a local HTTP server and small real files in each format."""

from __future__ import annotations

import gzip
import http.server
import io
import pickle
import struct
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


class Server:
    """Serves ``files`` (path -> bytes) on 127.0.0.1; paths under /short/ announce more bytes
    than they send and then close the connection (an interrupted download), and so does a path in
    ``cut`` (path -> how many more requests to cut) until its count runs out."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hits: list[str] = []
        self.cut: dict[str, int] = {}
        files, hits, cut = self.files, self.hits, self.cut

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):  # noqa: N802
                hits.append(self.path)
                if self.path.startswith("/short/") or cut.get(self.path, 0) > 0:
                    if cut.get(self.path, 0) > 0:
                        cut[self.path] -= 1
                    name = self.path[len("/short"):] if self.path.startswith("/short/") else self.path
                    body = files.get(name, b"x" * 5000)
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body) + 10000))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture()
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture()
def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# -- file makers -------------------------------------------------------------------------------


def idx_bytes(arr: np.ndarray) -> bytes:
    """An IDX file (uint8) as MNIST stores it."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return header + arr.tobytes()


def mnist_files(n_train: int = 20, n_test: int = 10, seed: int = 0) -> dict[str, tuple[np.ndarray, bytes]]:
    """{file name: (array, gzipped IDX bytes)} for the four MNIST files."""
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n, dtype=np.uint8)
        out[f"{prefix}-images-idx3-ubyte.gz"] = (x, gzip.compress(idx_bytes(x)))
        out[f"{prefix}-labels-idx1-ubyte.gz"] = (y, gzip.compress(idx_bytes(y)))
    return out


def cifar_tar(kind: str = "cifar10", n_per_batch: int = 6, seed: int = 0) -> tuple[bytes, dict]:
    """A CIFAR-style .tar.gz of pickled batches; returns (bytes, {batch name: dict})."""
    rng = np.random.default_rng(seed)
    batches: dict[str, dict] = {}
    if kind == "cifar10":
        top = "cifar-10-batches-py"
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            batches[name] = {b"data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
                             b"labels": [int(v) for v in rng.integers(0, 10, n_per_batch)]}
        batches["batches.meta"] = {b"label_names": [f"class{i}".encode() for i in range(10)]}
    else:
        top = "cifar-100-python"
        for name in ("train", "test"):
            batches[name] = {b"data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
                             b"fine_labels": [int(v) for v in rng.integers(0, 100, n_per_batch)],
                             b"coarse_labels": [int(v) for v in rng.integers(0, 20, n_per_batch)]}
        batches["meta"] = {b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
                           b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)]}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, obj in batches.items():
            data = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue(), batches


def image_bytes(size: tuple[int, int] = (20, 16), color: tuple[int, int, int] = (200, 30, 90),
                fmt: str = "PNG", seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    arr = (rng.integers(0, 40, (size[1], size[0], 3)) + np.array(color) * 0.8).clip(0, 255)
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def cyclegan_zip(name: str = "tiny2set", n: tuple[int, int, int, int] = (3, 2, 2, 1)) -> bytes:
    """A zip in the CycleGAN layout: NAME/trainA trainB testA testB with small JPEGs."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for (folder, count), color in zip(zip(("trainA", "trainB", "testA", "testB"), n),
                                          ((250, 0, 0), (0, 0, 250), (250, 0, 0), (0, 0, 250))):
            for i in range(count):
                zf.writestr(f"{name}/{folder}/{i:03d}.jpg", image_bytes((24, 24), color, "JPEG", seed=i))
    return buf.getvalue()


def write_images(folder: Path, names: list[str], size: tuple[int, int] = (20, 16), mode: str = "RGB") -> list[Path]:
    """Small images at ``folder/name``; the format follows the extension."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, name in enumerate(names):
        rng = np.random.default_rng(i)
        shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
        img = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
        path = folder / name
        ext = path.suffix.lower()
        fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".webp": "WEBP"}[ext]
        img.save(path, format=fmt)
        out.append(path)
    return out


@pytest.fixture()
def make():
    """The file makers above, for tests (conftest modules are not imported directly)."""
    from types import SimpleNamespace

    return SimpleNamespace(idx_bytes=idx_bytes, mnist_files=mnist_files, cifar_tar=cifar_tar,
                           image_bytes=image_bytes, cyclegan_zip=cyclegan_zip, write_images=write_images)
