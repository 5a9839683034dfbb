"""The images each phase of a conversion uses: calibration, parity (held out) and task pairs (held out).

The user's images come first: when ``--calib`` or ``--parity-data`` is given (a plain image folder or a
DIW folder), parity runs on the user's held-out images, never on our synthetic rooms, whose maps say
nothing about a text detector or a face network. DIW pairs (``DIW_test.csv``) are needed only for the
depth task's WHDR. Calibration and parity images never overlap: from one folder, the last images are
held out for parity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..data.diw import DIWImage, read_diw_csv
from ..data.sample import default_sample_dir
from ..data.sources import images_for_split
from ..errors import MobileDepthError
from .options import ConvertOptions
from .precisions import PRECISIONS


@dataclass(frozen=True)
class ConvertData:
    calib_dir: Path | None  # None: nothing is calibrated (no integer precision asked)
    calib_paths: tuple[Path, ...]
    parity_paths: tuple[Path, ...]
    task_entries: tuple[DIWImage, ...]  # DIW pairs on held-out images (depth and disparity tasks)
    parity_label: str  # where the parity images came from, as the report says it


def _held_out(pool: list[Path], calibration: set[Path], n: int) -> list[Path]:
    return [p for p in pool if p not in calibration][:n]


def select_data(options: ConvertOptions) -> ConvertData:
    """Calibration images (when a precision needs them), held-out parity images and task pairs."""
    user = options.parity_data or options.calib
    sample = default_sample_dir() if options.calib is None or user is None else None
    calibrated = any(PRECISIONS[p].calibrated for p in options.precisions)
    calib_dir = options.calib or sample
    parity_dir = user or sample
    assert calib_dir is not None and parity_dir is not None
    calib_pool = images_for_split(calib_dir, "train") if calibrated else []
    parity_pool = images_for_split(parity_dir, "test")
    calib = calib_pool[: options.n_calib]
    parity = _held_out(parity_pool, set(calib), options.n_parity)
    if not parity and calib and Path(calib_dir) == Path(parity_dir):  # one plain folder: hold its last images out
        keep = max(1, min(options.n_parity, len(calib_pool) // 4))
        calib, parity = calib_pool[: min(options.n_calib, len(calib_pool) - keep)], calib_pool[-keep:]
    if not parity:
        raise MobileDepthError(
            f"{parity_dir}: no held-out images left for the parity check (all are calibration "
            "images); give --parity-data DIR or more images"
        )
    csv = Path(parity_dir) / "DIW_test.csv" if Path(parity_dir).is_dir() else Path(parity_dir)
    entries = read_diw_csv(csv) if csv.is_file() and csv.suffix.lower() == ".csv" else []
    held = set(calib)
    label = f"your images: {parity_dir}" if user is not None else f"bundled synthetic rooms: {parity_dir}"
    return ConvertData(
        Path(calib_dir) if calibrated else None,
        tuple(calib),
        tuple(parity),
        tuple(e for e in entries if e.path not in held),
        label,
    )
