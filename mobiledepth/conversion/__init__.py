"""PyTorch -> ONNX -> TFLite conversion with a parity report for every written file.

The task reads top to bottom in :mod:`.pipeline`; ``mobiledepth.convert`` (:mod:`mobiledepth.api`) is its
entry point, :mod:`.options` its options (importable without torch or onnx2tf, for the CLI's help).
"""
