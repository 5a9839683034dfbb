"""android_bench: on-device TFLite benchmarks over adb, model-agnostic.

It knows TFLite files and phones, not depth: ``mobiledepth bench --device S21`` and pruning call it.
Pieces: :mod:`devices` (registry, resolution), :mod:`binary` (benchmark_model cache and push),
:mod:`thermal` (guard), :mod:`remote` (deadline-bounded shell), :mod:`parse` (tool output),
:mod:`timing` (how long and how hard to run), :mod:`stats` (latency statistics), :mod:`runner` (runs and
their typed results). The emulated phone used by the tests and the dry run is the separate
dev package ``phone_emulator`` (not shipped in the wheel).
"""

__version__ = "0.1.0"
