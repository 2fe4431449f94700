"""AI music generation: plan, compose, render and master original instrumental tracks."""
from __future__ import annotations

__version__ = "1.1.0"
