"""An emulated phone speaking the real ADB protocol, for tests and dry runs without hardware."""

from .profile import PROFILES, Faults, PhoneProfile, galaxy_s10_plus, galaxy_s21
from .server import EmulatedPhone

__all__ = ["EmulatedPhone", "Faults", "PROFILES", "PhoneProfile", "galaxy_s10_plus", "galaxy_s21"]
