"""One chunked, hash-checked download that appears atomically: the pretrained weights and CIFAR-10 share it.

Pure (no torch, no streamlit). Callers turn its errors into their own sentences: `Truncated`
when the server closed early, the checker's own exception when the hash is refused, and
OSError / http.client.HTTPException from the network (URLError, HTTPError and timeouts are OSErrors).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.request import Request

Progress = Callable[[int, "int | None"], None]  # (bytes done, total bytes or None)


class Truncated(Exception):
    """The connection closed before Content-Length bytes arrived."""

    def __init__(self, done: int, total: int):
        super().__init__(f"the connection closed after {done:,} of {total:,} bytes")
        self.done, self.total = done, total


def fetch(url: str, destination: Path, *, algorithm: str, check: Callable[[str], None], opener: Callable,
          timeout: float, chunk_bytes: int, progress: Progress | None = None) -> Path:
    """Download `url` to `destination` in chunks of `chunk_bytes`, hashing as the bytes arrive.

    `check(hexdigest)` raises to refuse the file; the file appears (os.replace) only when it is
    complete and accepted, so another process sees no file or the whole file. `progress(done, total)`
    is called after each chunk.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as out, \
                opener(Request(url, headers={"User-Agent": "resnext-viz"}), timeout=timeout) as response:
            headers = getattr(response, "headers", None)
            length = headers.get("Content-Length") if headers is not None else None
            total = int(length) if length and str(length).isdigit() else None
            digest, done = hashlib.new(algorithm), 0
            while chunk := response.read(chunk_bytes):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        if total is not None and done != total:
            raise Truncated(done, total)
        check(digest.hexdigest())
        os.replace(partial, destination)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return destination
