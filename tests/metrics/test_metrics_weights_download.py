"""Finding and downloading the Inception weights, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import pytest

from ganzoo.errors import DownloadError, GanzooError
from ganzoo.metrics.inception import WEIGHTS_FILE, WEIGHTS_URL, default_weights_path, resolve_weights


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    payload = b"fake inception weights " * 1000
    (root / "w.pth").write_bytes(payload)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/w.pth"
    try:
        yield url, payload, httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_download_to_the_cache_with_checksum_prefix(server, clean_weights_env):
    url, payload, _ = server
    prefix = hashlib.sha256(payload).hexdigest()[:8]
    path = resolve_weights(url=url, sha256_prefix=prefix, progress=False)
    assert path == default_weights_path() == clean_weights_env / "weights" / WEIGHTS_FILE
    assert path.read_bytes() == payload
    # found in the cache the next time, without asking the server
    assert resolve_weights(url="http://127.0.0.1:9/unused", sha256_prefix=prefix, progress=False) == path


def test_a_wrong_checksum_leaves_no_file(server, clean_weights_env):
    url, payload, _ = server
    wrong = "00000000" if not hashlib.sha256(payload).hexdigest().startswith("00000000") else "11111111"
    with pytest.raises(DownloadError, match="checksum"):
        resolve_weights(url=url, sha256_prefix=wrong, progress=False)
    assert not default_weights_path().exists()
    assert not any(p.name.endswith(".part") for p in default_weights_path().parent.iterdir())


def test_offline_error_names_the_url_the_path_and_the_alternatives(server, clean_weights_env):
    url, _, httpd = server
    httpd.shutdown()
    httpd.server_close()
    with pytest.raises(DownloadError) as info:
        resolve_weights(url=url, progress=False, sha256_prefix="6726825d")
    msg = str(info.value)
    assert url in msg and str(default_weights_path()) in msg
    assert "--weights" in msg and "GANZOO_INCEPTION_WEIGHTS" in msg
    # with downloads off the message names the real release URL
    with pytest.raises(DownloadError, match="fid_weights"):
        resolve_weights(download=False)
    assert "pytorch-fid/releases/download/fid_weights" in WEIGHTS_URL


def test_resolution_order_explicit_then_environment_then_cache(tmp_path, clean_weights_env, monkeypatch):
    cached = default_weights_path()
    cached.write_bytes(b"cache")
    env_file = tmp_path / "env.pth"
    env_file.write_bytes(b"env")
    explicit = tmp_path / "explicit.pth"
    explicit.write_bytes(b"explicit")
    assert resolve_weights(download=False) == cached
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(env_file))
    assert resolve_weights(download=False) == env_file
    assert resolve_weights(explicit, download=False) == explicit
    with pytest.raises(GanzooError, match="does not exist"):
        resolve_weights(tmp_path / "missing.pth")
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(tmp_path / "nope.pth"))
    with pytest.raises(GanzooError, match="GANZOO_INCEPTION_WEIGHTS"):
        resolve_weights(download=False)
