"""Benchmarks: one request (:mod:`.request`) for the host (LiteRT / ONNX Runtime / PyTorch, :mod:`.host`) and
phones (android_bench, :mod:`.phone`), alone or paired (:mod:`.paired`)."""
