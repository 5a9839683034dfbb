"""android_bench: adb-driven on-device TFLite benchmarks (model-agnostic). Built in the harness issue."""
