# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the test suites: CLI runners, real event contexts,
state simulators, fake rings, what tests need from outside the repository."""
