# SPDX-License-Identifier: Apache-2.0
"""The application: the ``falco`` command and the daemon around the engine.

Command line and exit codes (``cli``), one run from configuration to summary
(``run``), the daemon's life cycle (``lifecycle``), Falco's own log
(``logs``), outputs built from the configuration (``outputs_setup``),
``append_output`` and ``-p`` (``append_output``), drop reports (``drops``),
capture recording after alerts (``recording``), the web server
(``webserver``), the metrics it serves (``metrics``), the output router
swapped on reload (``router``), listings (``listings``) and the wiring of
the layers below (``backend``).
"""
