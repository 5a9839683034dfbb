"""Run an emulated phone until Ctrl-C: ``python -m android_bench.emulator --profile S21 --port 5555``."""

import argparse
import time

from .profile import PROFILES
from .server import EmulatedPhone

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--profile", choices=sorted(PROFILES), default="S21")
parser.add_argument("--port", type=int, default=5555)
parser.add_argument("--gpu", choices=("unsupported", "full", "partial"), default="unsupported")
parser.add_argument("--nnapi", choices=("unsupported", "full", "partial"), default="unsupported")
parser.add_argument("--write-binary", metavar="FILE", help="also write the emulated benchmark_model here, for --benchmark-binary")
args = parser.parse_args()
if args.write_binary:
    from .benchmark_tool import BINARY_MARKER

    with open(args.write_binary, "wb") as handle:
        handle.write(BINARY_MARKER + b"\n")
phone = EmulatedPhone(PROFILES[args.profile](gpu=args.gpu, nnapi=args.nnapi), port=args.port).start()
print(f"emulated {args.profile} listening; attach with: adb connect {phone.serial}", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    phone.stop()
