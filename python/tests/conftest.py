import os

import pytest

#: The repository root (tests run from anywhere; experiments are read relative to it).
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture
def repo_cwd(monkeypatch):
    """Run the test from the repository root (experiment files name `envs/...` from there)."""
    monkeypatch.chdir(REPO)
    return REPO
