"""The benchmark request's building blocks, under the names the Python API gives them: how long and hard to
run (:class:`Timing`), what only phones have (:class:`PhoneOptions`), and where their adb server is
(:class:`AdbEndpoint`). They live in android_bench, the model-agnostic harness, and are re-exported here."""

from android_bench.adb import AdbEndpoint
from android_bench.runner import PhoneOptions
from android_bench.timing import HOST_TIMING, PHONE_TIMING, Timing

__all__ = ["AdbEndpoint", "HOST_TIMING", "PHONE_TIMING", "PhoneOptions", "Timing"]
