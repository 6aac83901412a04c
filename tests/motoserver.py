"""moto's server on loopback, for tests against real AWS APIs (SSM, Secrets Manager, ...).

One server per test session: starting it costs about a second of imports. Tests keep
out of each other's way by using unique resource names, not by resetting the server.

Usage::

    @pytest.fixture(scope="session")
    def moto_url() -> Iterator[str]:
        with moto_server() as url:
            yield url

and point boto3 at it with ``AWS_ENDPOINT_URL`` (see :func:`aws_environment`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's threaded server on 127.0.0.1 and a free port; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def aws_environment(monkeypatch: pytest.MonkeyPatch, endpoint: str, home: Path) -> None:
    """Point the AWS SDK at ``endpoint`` with fake credentials, and away from everything else.

    No profile, no config or credentials file, no instance metadata: nothing leaves the
    machine and nothing of the developer's own AWS setup is read.
    """
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
