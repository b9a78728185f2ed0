# SPDX-License-Identifier: Apache-2.0
"""The verifier of this kernel accepts the shipped BPF object, and every hook
it has attaches.  First of the kernel tests (file order) and fast: in the
VM (Debian's 6.1, the oldest kernel we test) it catches a program that only
newer verifiers accept before the whole suite errors on it, and its failure
shows where the verifier stopped and why."""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.kernel, pytest.mark.bpf]


def test_verifier_accepts_every_program_and_every_hook_attaches() -> None:
    from falco.driver._falco_ffi import lib
    from falco.driver.bpf import BpfLayout, BpfProbe
    from falco.errors import BpfError
    refused = ""
    try:
        probe = BpfProbe(BpfLayout(ring_bytes=4096 * 4))
    except BpfError as e:
        refused = str(e)
    if refused:
        pytest.fail(f"the BPF object does not load on this kernel:\n{refused}", pytrace=False)
    try:
        hooks = [tp for tp in range(lib.FPROBE_TP_MAX) if lib.fsrc_bpf_has_hook(tp)]
        assert hooks, "the object has no hook"
        failed = []
        for tp in hooks:
            try:
                probe.attach(tp)
            except BpfError as e:
                failed.append(f"hook {tp}: {e}")
        assert not failed, "\n".join(failed)
    finally:
        probe.close()
