# SPDX-License-Identifier: Apache-2.0
"""falco: runtime security monitoring on a kernel module event stream."""

__version__ = "0.1.0"
