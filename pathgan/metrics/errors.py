"""Errors and warnings of the evaluation code; errors are PathGANErrors (and ValueErrors, as callers catch them)."""
from __future__ import annotations

from ..errors import PathGANError


class MetricsError(PathGANError, ValueError):
    """Input the metrics cannot use; the message says what is wrong and what to do."""


class WeightsError(MetricsError):
    """The FID Inception weights are missing or are not the standard ones."""


class ImageSetError(MetricsError):
    """A folder or list of images that cannot be scored (empty, too small, unreadable files)."""


class SmallSampleWarning(UserWarning):
    """Too few images for an unbiased FID."""
