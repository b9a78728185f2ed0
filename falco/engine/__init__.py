# SPDX-License-Identifier: Apache-2.0
"""The pipeline layer: event source -> state -> rules -> alerts.

``loop`` runs events through the inspector and the selected rules and hands
each ``alert.Alert`` to a sink; it knows nothing of outputs or configuration.
"""
