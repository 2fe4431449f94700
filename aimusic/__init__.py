"""AI music generation: plan, compose, render and master original instrumental tracks."""
from __future__ import annotations

from .kernels import pin_kernels as _pin_kernels

__version__ = "1.4.1"

_pin_kernels()   # before anything imports NumPy: the same bytes on every x86-64 machine
