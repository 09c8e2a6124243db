"""``python -m autospec``: the ``autospec`` command line (:mod:`autospec.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
