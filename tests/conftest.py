"""Shared test settings: hypothesis profiles and the --update-goldens option."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from scripted_server import Scripted

# "ci" (the default) keeps the whole suite to a few minutes on two cores; "thorough" is for a long run.
settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite the golden files under tests/ instead of comparing with them")


@pytest.fixture
def golden(request):
    """`golden(path, text)`: assert text equals the file (or rewrite it under --update-goldens)."""
    update = request.config.getoption("--update-goldens")

    def compare(path: Path, text: str) -> None:
        if update:
            path.write_text(text, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"golden file {path} is missing: run pytest with --update-goldens to create it")
        assert text == path.read_text(encoding="utf-8"), \
            f"{path.name} differs from its golden; rerun with --update-goldens if the change is intended"

    return compare


@pytest.fixture
def serve():
    """`serve(*script)`: a started Scripted server answering POSTs with (status, body, headers, delay)."""
    servers = []

    def start(*script):
        server = Scripted(script)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def stdlib():
    """Kernel name → the stdlib program that defines it."""
    import plmr
    from stdlib import kernel_files

    programs = [plmr.load(path) for path in kernel_files()]
    return {name: p for p in programs for name in p.kernels}
