"""What every command shares: one-line errors, flag parsing, and writing records."""

from __future__ import annotations

import errno
import functools
import os
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from android_bench.errors import BenchError

from ..errors import MobileDepthError, one_line
from ..fileio import write_json
from ..inputs import MAX_INPUT_SIDE, Preprocess
from .app import console, err_console

# Which extra installs a module the core install leaves out (pyproject's optional-dependencies).
EXTRA_OF_MODULE = {
    "onnx2tf": "convert",
    "tensorflow": "convert",
    "tf_keras": "convert",
    "onnxsim": "convert",
    "onnx_graphsurgeon": "convert",
    "adbutils": "phone",
    "torch_pruning": "prune",
    "imageio": "video",
    "imageio_ffmpeg": "video",
    "skimage": "demo",
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """'pip install ...' advice for a module that an extra provides, else None (a real bug: traceback)."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    return (
        f"this needs the '{extra}' extra (module {top} is missing): pip install 'mobiledepth[{extra}]'"
        if extra
        else None
    )


def print_error(message: str) -> None:
    """``error: ...`` on one line: Text, not markup (names may hold [brackets]: "x[/]y.pt", "[[stage]]"), and
    control characters escaped (a file name holding a newline must not forge a second line)."""
    err_console.print(Text("error: ", style="bold red") + Text(one_line(message)), highlight=False, soft_wrap=True)


def user_errors(fn: Callable) -> Callable:
    """Turn user-facing errors (ours and android_bench's) into one 'error: ...' line and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (MobileDepthError, BenchError) as exc:
            print_error(str(exc))
            raise typer.Exit(1) from None
        except OSError as exc:  # disk full, read-only folder, permission: one line naming the file
            where = exc.filename or "output"
            reason = {
                errno.ENOSPC: "no space left on the disk",
                errno.EROFS: "read-only file system",
                errno.EACCES: "permission denied",
            }.get(exc.errno or 0, exc.strerror or exc.__class__.__name__)
            print_error(f"{where}: {reason}")
            raise typer.Exit(1) from None
        except ModuleNotFoundError as exc:
            advice = missing_extra(exc)
            if advice is None:
                raise
            print_error(advice)
            raise typer.Exit(1) from None
        except Exception as exc:  # a bug, not a user error: one line, the traceback on request
            if os.environ.get("MOBILEDEPTH_DEBUG") or type(exc).__module__.split(".")[0] in (
                "typer",
                "click",
                "_typer",
            ):
                raise  # typer's own exits and usage errors pass through
            first = (str(exc).splitlines() or [""])[0][:200]
            name = exc.__class__.__name__
            print_error(f"unexpected {name}: {first} (a bug; MOBILEDEPTH_DEBUG=1 shows the traceback)")
            raise typer.Exit(1) from None

    return wrapper


def parse_size(text: str) -> tuple[int, int]:
    """'256x256' or '224x448' (HEIGHTxWIDTH)."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise MobileDepthError(f"--size {text!r}: expected HEIGHTxWIDTH, e.g. 256x256") from None
    if h <= 0 or w <= 0:
        raise MobileDepthError(f"--size {text!r}: sides must be positive")
    if h > MAX_INPUT_SIDE or w > MAX_INPUT_SIDE:  # activations grow with the area: refuse before allocating
        raise MobileDepthError(f"--size {text!r}: sides are capped at {MAX_INPUT_SIDE} pixels")
    return h, w


def parse_triple(text: str | None, name: str, default: tuple[float, float, float]) -> tuple[float, float, float]:
    if text is None:
        return default
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(abs(v) < float("inf") for v in values):
        raise MobileDepthError(f"{name} {text!r}: expected three comma-separated finite numbers (R,G,B)")
    return values  # type: ignore[return-value]


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def given_flags(**flags: Any) -> dict[str, Any]:
    """The flags the user gave (not None): the library's option dataclasses fill in the rest, so no default is
    restated in the CLI."""
    return {name: value for name, value in flags.items() if value is not None}


def size_flag(size: str | None) -> tuple[int, int] | None:
    """--size HEIGHTxWIDTH, or None (the model's own size)."""
    return None if size is None else parse_size(size)


def preprocess_flags(mean: str | None, std: str | None, pixel_scale: float | None) -> Preprocess | None:
    """--mean/--std/--pixel-scale over identity preprocessing; None when none is given (the model's own)."""
    if mean is None and std is None and pixel_scale is None:
        return None
    base = Preprocess()
    if pixel_scale is not None and not 0 < pixel_scale < float("inf"):
        raise MobileDepthError(f"--pixel-scale {pixel_scale}: must be a positive finite number")
    values = Preprocess(parse_triple(mean, "--mean", base.mean), parse_triple(std, "--std", base.std),
                        base.pixel_scale if pixel_scale is None else pixel_scale)  # fmt: skip
    if any(s == 0 for s in values.std):
        raise MobileDepthError(f"--std {std}: no channel may be 0 (its values would be divided by it)")
    return values


def write_records(path: Optional[Path], records: list[Any]) -> None:
    if path is not None:
        write_json(path, records[0] if len(records) == 1 else records)
        console.print(f"wrote {path}")


def names(text: str | None) -> tuple[str, ...]:
    """A comma-separated flag ('1.9M,1.5M', 'stem, dec_hidden') as its non-empty items."""
    return tuple(k.strip() for k in (text or "").split(",") if k.strip())
