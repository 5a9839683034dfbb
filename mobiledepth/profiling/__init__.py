"""Per-layer latency: where a model spends its time, on the host (ONNX Runtime's profiler) or a phone
(benchmark_model's op profiler), as one table shape for both."""
