# SPDX-License-Identifier: Apache-2.0
"""A gRPC channel to a runtime's unix socket, and typed unary calls."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from falco.containers.protos import ProtoUnavailable

MAX_MESSAGE = 16 << 20


class NotFound(LookupError):
    """The runtime does not know the object (gRPC NOT_FOUND)."""


class Unimplemented(OSError):
    """The runtime does not offer this call (gRPC UNIMPLEMENTED)."""


@dataclass(slots=True)
class Channel:
    socket: str
    timeout: float = 2.0
    _channel: Any = field(default=None, init=False)
    _grpc: Any = field(default=None, init=False)

    def __post_init__(self) -> None:
        try:
            import grpc
        except ImportError as exc:
            raise ProtoUnavailable(f"grpcio is not installed: {exc}") from None
        self._grpc = grpc
        self._channel = grpc.insecure_channel(
            f"unix://{self.socket}",
            options=[("grpc.max_receive_message_length", MAX_MESSAGE),
                     ("grpc.enable_retries", 0)])

    def _error(self, exc: Any, path: str) -> Exception:
        code = exc.code() if hasattr(exc, "code") else None
        codes = self._grpc.StatusCode
        if code == codes.NOT_FOUND:
            return NotFound(path)
        if code == codes.UNIMPLEMENTED:
            return Unimplemented(f"{path}: unimplemented")
        details = exc.details() if hasattr(exc, "details") else ""
        # The runtime's own words, bounded (they go to the log).
        why = f" ({str(details)[:300]!r})" if details else ""
        return OSError(f"{path}: {code.name if code else exc}{why}")

    def unary(self, path: str, request: Any, response_type: Any,
              metadata: tuple[tuple[str, str], ...] = ()) -> Any:
        call = self._channel.unary_unary(
            path, request_serializer=type(request).SerializeToString,
            response_deserializer=response_type.FromString)
        try:
            return call(request, timeout=self.timeout, metadata=metadata)
        except self._grpc.RpcError as exc:
            raise self._error(exc, path) from None

    def stream(self, path: str, request: Any, response_type: Any,
               metadata: tuple[tuple[str, str], ...] = ()) -> "Stream":
        call = self._channel.unary_stream(
            path, request_serializer=type(request).SerializeToString,
            response_deserializer=response_type.FromString)
        return Stream(self, path, call(request, metadata=metadata))

    def close(self) -> None:
        self._channel.close()


@dataclass(slots=True)
class Stream:
    channel: Channel
    path: str
    call: Any
    closed: bool = False

    def messages(self) -> Any:
        """Messages until the stream ends; OSError when it breaks."""
        grpc = self.channel._grpc
        try:
            for msg in self.call:
                yield msg
        except grpc.RpcError as exc:
            if self.closed or exc.code() == grpc.StatusCode.CANCELLED:
                return
            raise self.channel._error(exc, self.path) from None

    def close(self) -> None:
        self.closed = True
        self.call.cancel()
