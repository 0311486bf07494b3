"""``python -m ganzoo``: the same as the ``ganzoo`` command."""

import sys

from .cli import main

sys.exit(main())
