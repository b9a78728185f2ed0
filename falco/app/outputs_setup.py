# SPDX-License-Identifier: Apache-2.0
"""Build the OutputManager a configuration asks for (CLI layer: the
outputs package itself knows nothing of falco.yaml)."""
from __future__ import annotations

from falco.config import Config
from falco.errors import ConfigError
from falco.outputs.file import FileOutput
from falco.outputs.format import AlertFormatter
from falco.outputs.http import HttpOutput
from falco.outputs.manager import OutputManager, TokenBucket
from falco.outputs.program import ProgramOutput
from falco.outputs.stdout import StdoutOutput
from falco.outputs.syslog import SyslogOutput


def formatter_for(config: Config) -> AlertFormatter:
    return AlertFormatter(
        json_output=config.json_output,
        iso_time=config.time_format_iso_8601,
        include_output=config.json_include_output_property,
        include_output_fields=config.json_include_output_fields_property,
        include_tags=config.json_include_tags_property,
        include_message=config.json_include_message_property)


def build_outputs(config: Config, *, unbuffered: bool = False
                  ) -> OutputManager:
    buffered = config.buffered_outputs and not unbuffered
    formatter = formatter_for(config)
    throttle = None
    if config.outputs.rate > 0:
        throttle = TokenBucket(config.outputs.rate, config.outputs.max_burst)
    manager = OutputManager(formatter, throttle,
                            config.outputs_queue.capacity,
                            config.output_timeout / 1000
                            if config.output_timeout else None)
    if config.stdout_output.enabled:
        manager.add(StdoutOutput(buffered=buffered))
    if config.file_output.enabled:
        manager.add(FileOutput(config.file_output.filename,
                               config.file_output.keep_alive, buffered))
    if config.syslog_output.enabled:
        manager.add(SyslogOutput(config.syslog_output.path,
                                 config.syslog_output.facility,
                                 config.syslog_output.identifier))
    if config.program_output.enabled:
        manager.add(ProgramOutput(config.program_output.program,
                                  config.program_output.keep_alive,
                                  buffered))
    if config.journald_output.enabled:
        try:
            from falco.outputs.journald import JournaldOutput
            manager.add(JournaldOutput(config.journald_output.identifier))
        except ImportError:
            manager.stop()
            raise ConfigError("journald_output is enabled but systemd-python "
                              "is not installed",
                              item="key journald_output.enabled") from None
    if config.http_output.enabled:
        http = config.http_output
        manager.add(HttpOutput(http.url, http.user_agent,
                               http.timeout, http.connect_timeout,
                               http.max_retries, http.retry_backoff,
                               http.insecure, http.echo,
                               compress=http.compress_uploads,
                               keep_alive=http.keep_alive,
                               max_consecutive_timeouts=(
                                   http.max_consecutive_timeouts)))
    return manager


def outputs_changed(old: Config, new: Config) -> bool:
    keys = ("json_output", "json_include_output_property",
            "json_include_message_property",
            "json_include_output_fields_property",
            "json_include_tags_property", "time_format_iso_8601",
            "buffered_outputs", "outputs", "outputs_queue", "stdout_output",
            "file_output", "syslog_output", "program_output", "http_output",
            "journald_output")
    return any(getattr(old, k) != getattr(new, k) for k in keys)
