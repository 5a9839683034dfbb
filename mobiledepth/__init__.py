"""mobiledepth: a compact monocular relative-depth network, from PyTorch to phones, with numbers."""

__version__ = "0.1.0"
