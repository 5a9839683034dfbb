"""The one file-hashing helper: model files, pinned binaries and mobiledepth's records all key on it."""

from __future__ import annotations

import hashlib
import os

CHUNK_BYTES = 1 << 20  # read in 1 MiB blocks: model files can be larger than is sensible to hold twice


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()
