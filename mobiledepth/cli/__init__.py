"""The ``mobiledepth`` command: a thin typer layer over the library (which the tests call).

One module per command group (:mod:`.model`, :mod:`.convert`, :mod:`.bench`, :mod:`.evaluate`,
:mod:`.train`, :mod:`.see`, :mod:`.devices`); :mod:`.main` registers them all on :data:`.app.app`.
"""

from .common import missing_extra
from .main import app, main

__all__ = ["app", "main", "missing_extra"]
