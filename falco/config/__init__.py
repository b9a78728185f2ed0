# SPDX-License-Identifier: Apache-2.0
"""Configuration: the falco.yaml schema and its loader."""
from falco.config.loader import Loaded, load_config, parse_override
from falco.config.schema import DEFAULT_RULES_FILES, Config

__all__ = ["Config", "DEFAULT_RULES_FILES", "Loaded", "load_config",
           "parse_override"]
