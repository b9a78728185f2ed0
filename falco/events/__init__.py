# SPDX-License-Identifier: Apache-2.0
"""Events: the lazy Event, parameter decoding/encoding, capture files."""
from falco.events.build import event_code, make_event
from falco.events.encode import encode_event
from falco.events.event import Event
from falco.events.sockets import SockAddr, SockTuple

__all__ = ["Event", "SockAddr", "SockTuple", "encode_event", "event_code",
           "make_event"]
