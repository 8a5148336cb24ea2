"""The package type-checks clean under mypy (configured in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_is_clean():
    pytest.importorskip("mypy", reason="mypy is not installed (pip install '.[test]')")
    if shutil.which(sys.executable) is None:  # pragma: no cover
        pytest.skip("no Python executable to run mypy with")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--config-file",
         str(ROOT / "pyproject.toml")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
