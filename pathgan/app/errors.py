"""The app's user error: bad input or a missing resource, whose message the page shows as it is."""
from __future__ import annotations

from ..errors import PathGANError


class UserError(PathGANError, ValueError):
    """Bad input or a missing resource; the message is shown to the user as is."""
