"""TOML files users write (training configs, fleet files): read with one-line errors, and keys checked with a
did-you-mean, because a misspelt table is otherwise silently ignored and its defaults used."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any, Iterable

from .errors import MobileDepthError


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MobileDepthError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MobileDepthError(f"{path}: a folder, not a TOML file") from None
    except UnicodeDecodeError:
        raise MobileDepthError(f"{path}: not UTF-8 text (TOML files are UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise MobileDepthError(f"{path}: invalid TOML ({exc})") from None


def check_keys(where: str, given: Iterable[str], known: Iterable[str], what: str = "key") -> None:
    """Refuse the first unknown key, naming the closest known one."""
    known = sorted(known)
    for key in sorted(set(given) - set(known)):
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
        raise MobileDepthError(f"{where}: unknown {what} {key!r}{hint}")
