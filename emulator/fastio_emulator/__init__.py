"""A local emulator of the Fast.io HTTP API for tests and development."""

__version__ = "0.1.0"
