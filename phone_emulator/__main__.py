"""Run an emulated phone until Ctrl-C: ``python -m phone_emulator --profile S21 --port 6520``.

The default port is outside adb's emulator scan range (5555-5585), where the server would also find
the phone on its own and list it twice."""

import argparse
import time

from .profile import PROFILES
from .server import EmulatedPhone

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--profile", choices=sorted(PROFILES), default="S21")
parser.add_argument("--port", type=int, default=6520)
parser.add_argument("--gpu", choices=("unsupported", "full", "partial"), default="unsupported")
parser.add_argument("--nnapi", choices=("unsupported", "full", "partial"), default="unsupported")
parser.add_argument("--latency-ms", type=float, default=0.0, help="every inference takes this long (an emulated chip)")
parser.add_argument("--no-heat", action="store_true", help="never warm up under load (the thermal guard never waits)")
parser.add_argument("--no-shell-v2", action="store_true", help="behave like an adbd before Android 7 (raw shell only)")
parser.add_argument(
    "--write-binary", metavar="FILE", help="also write the emulated benchmark_model here, for --benchmark-binary"
)
args = parser.parse_args()
if args.write_binary:
    from .benchmark_tool import BINARY_MARKER

    with open(args.write_binary, "wb") as handle:
        handle.write(BINARY_MARKER + b"\n")
phone = EmulatedPhone(
    PROFILES[args.profile](
        gpu=args.gpu,
        nnapi=args.nnapi,
        shell_v2=not args.no_shell_v2,
        fixed_latency_ms=args.latency_ms,
        **({"heat_c_per_s": 0.0} if args.no_heat else {}),
    ),
    port=args.port,
).start()
print(f"emulated {args.profile} listening; attach with: adb connect {phone.serial}", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    phone.stop()
