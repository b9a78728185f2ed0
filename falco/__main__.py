# SPDX-License-Identifier: Apache-2.0
"""``python -m falco``."""
import sys

from falco.cli import main

sys.exit(main())
