# SPDX-License-Identifier: Apache-2.0
"""What the enabled rules can use: the event set, the state each rule
reads, and the kernel prefilter program compiled from their conditions.

Sits between the rules and the engine: it reads compiled rules (their
condition ASTs, outputs and event types) and the field registry, and its
results configure the event sources (live rings, capture scanner) and the
inspector's state on demand.
"""
