# SPDX-License-Identifier: Apache-2.0
"""Container metadata from the runtimes' own APIs over unix sockets.

``info``: the ``ContainerInfo`` record and image-reference parsing;
``http``: a small HTTP/1.1 client over a unix socket (Docker and Podman);
``docker``/``podman``: the Docker-compatible and libpod APIs;
``containerd``/``cri``: containerd's gRPC API and the Kubernetes CRI, from
protos written here (``proto/``) and compiled with grpcio-tools;
``manager``: one listener per engine (event streams), lookups on worker
threads, the engine registry built from ``container_engines``.
Nothing here imports the rest of falco: the state layer uses it.
"""
