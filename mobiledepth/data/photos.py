"""Real photographs for the demo, from a wheel that ships them (never a download).

scikit-image carries a handful of public-domain / CC0 photographs in ``skimage/data``; once the
package is installed (extra ``demo``) they are local files. The demo uses them to show what each
precision does to a depth map of a real scene, which synthetic scenes cannot show.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import MobileDepthError

DEMO_PHOTOS = ("coffee.png", "chelsea.png", "astronaut.png")


def photo_folder() -> Path:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise MobileDepthError("real sample photographs need scikit-image: pip install 'mobiledepth[demo]'")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def demo_photos(names: tuple[str, ...] = DEMO_PHOTOS) -> list[Path]:
    """Paths of the named photographs inside scikit-image's installed data folder."""
    folder = photo_folder()
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise MobileDepthError(f"{folder}: scikit-image's data folder lacks {', '.join(missing)}")
    return [folder / n for n in names]
