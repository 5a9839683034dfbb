"""The embedded default data set: synthetic scenes rendered once, deterministically, into a cache.

Nothing is downloaded: the "bundled" sample set is the generator plus a fixed seed, so every machine
gets the same pixels. ``MOBILEDEPTH_CACHE`` moves the cache (default ``~/.cache/mobiledepth``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..locks import FolderLock
from .synth import GENERATOR_VERSION, SynthOptions, write_synth_dataset

SAMPLE_OPTIONS = SynthOptions(n=48, height=192, width=256, pairs_per_image=20, seed=2021)


def cache_dir() -> Path:
    return Path(os.environ.get("MOBILEDEPTH_CACHE", Path.home() / ".cache" / "mobiledepth"))


def default_sample_dir() -> Path:
    """Path of the sample set, rendering it on first use (about 10 s)."""
    target = cache_dir() / f"sample-v{GENERATOR_VERSION}-seed{SAMPLE_OPTIONS.seed}-n{SAMPLE_OPTIONS.n}"
    if (target / "synth.json").is_file():
        return target
    with FolderLock(cache_dir(), "sample data", wait=True):  # two first uses: one renders, the other waits for it
        if not (target / "synth.json").is_file():
            if target.exists():
                import shutil

                shutil.rmtree(target)
            write_synth_dataset(target, SAMPLE_OPTIONS)
    return target
