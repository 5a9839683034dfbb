"""Pruning: NetAdapt against measured latency, for mobiledepth checkpoints (netadapt.py, the CLI) and for
any nn.Module through the Python API (any_model.py)."""

from .._api import make_callable

make_callable(__name__)  # mobiledepth.prune(...) is the API function too
