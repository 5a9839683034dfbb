"""An emulated phone speaking the real ADB protocol, for tests and dry runs without hardware.

A development package: it lives beside the shipped ones in the repository and is not in the wheel
(run it from the repository root: ``python -m phone_emulator --profile S21 --port 6520``)."""

from .profile import PROFILES, Faults, PhoneProfile, galaxy_s10_plus, galaxy_s21
from .server import EmulatedPhone

__all__ = ["EmulatedPhone", "Faults", "PROFILES", "PhoneProfile", "galaxy_s10_plus", "galaxy_s21"]
