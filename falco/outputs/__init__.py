# SPDX-License-Identifier: Apache-2.0
"""Alert outputs, each on its own bounded queue and worker thread."""
from falco.outputs.base import Output, OutputStats, QueuedOutput
from falco.outputs.manager import OutputManager, TokenBucket

__all__ = ["Output", "OutputManager", "OutputStats", "QueuedOutput",
           "TokenBucket"]
