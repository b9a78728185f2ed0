# SPDX-License-Identifier: Apache-2.0
"""System state: threads, fds, users, groups and containers.

``Inspector.process(event)`` keeps the tables current and returns an
``EventContext`` for field extraction.
"""
from __future__ import annotations

from falco.state.context import EventContext
from falco.state.entries import FdInfo, FdType, ThreadInfo
from falco.state.eventinfo import InspectorStats
from falco.state.inspector import Inspector

__all__ = ["EventContext", "FdInfo", "FdType", "Inspector", "InspectorStats",
           "ThreadInfo"]
