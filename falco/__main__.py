# SPDX-License-Identifier: Apache-2.0
"""``python -m falco``."""
import sys

from falco.app.cli import main

sys.exit(main())
