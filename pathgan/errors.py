"""The one base of the errors meant for the user, and the error for settings that cannot be used.

A `PathGANError` is a user's mistake or a missing resource: its message says what is wrong and what to do, and
the edges (the app's `shown_errors`/`api_errors`, the CLI's `main`, the fine-tune scheduler) show it without a
traceback. Only the edges catch it. Anything else is a bug: it propagates and is logged with its traceback.
Each error class lives beside the code that raises it and derives from `PathGANError`; those that callers
already caught as `ValueError` keep it as a second base.
"""
from __future__ import annotations


class PathGANError(Exception):
    """A user error; the message is shown as it is."""


class ConfigError(PathGANError, ValueError):
    """A setting (a flag, a field of the app, an entry of a config file) that cannot be used."""
