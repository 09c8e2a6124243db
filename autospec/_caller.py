"""Warnings that point at the caller's code, not into autospec (a leaf: imports nothing
from the package)."""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parent) + "/"


def stacklevel() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` called by the caller of this function that
    names the first frame outside the package."""
    # level 1 is the frame that calls warnings.warn (our caller), 2 its caller, ...
    frame, level = sys._getframe(1), 1
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def warn(message: str, category: type[Warning] = RuntimeWarning) -> None:
    """``warnings.warn`` with the stack level of the first frame outside the package."""
    # this frame is in the package too, so stacklevel() counts it
    warnings.warn(message, category, stacklevel=stacklevel())
