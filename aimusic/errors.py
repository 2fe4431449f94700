"""The library's own small exception tree; the web layer maps these to HTTP errors."""
from __future__ import annotations


class AIMusicError(Exception):
    """Base class of every error this package raises on purpose."""


class ParameterError(AIMusicError, ValueError):
    """A value given to a public function is out of its domain; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


class ModelError(AIMusicError):
    """The melody model could not be loaded or used."""
