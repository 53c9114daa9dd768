"""``papermill --help-notebook`` documents every parameter of the cleanup notebook.

The ``parameters`` cell is annotated the way papermill reads it (``name: type = value  # help``),
so ``--help-notebook`` prints a type and a help line for each parameter instead of
"Unknown type"; the values stay those of :data:`wsnb.params.CLEANUP_PARAMETERS`'s defaults.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from wsnb import params, runner

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "scheduled_cleanup.ipynb"
#: ``  name: type (default value)``, then the help on the same line (short names) or the next.
LINE = re.compile(
    r"^  (?P<name>\w+): (?P<type>.+?) \(default (?P<default>.*?)\)(?:\s{2,}(?P<help>\S.*))?$"
)


@pytest.mark.slow
def test_help_notebook_gives_every_parameter_a_type_and_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "--help-notebook", str(NOTEBOOK)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Parameters inferred"))
    found: dict[str, tuple[str, str]] = {}
    for i, line in enumerate(lines[start + 1 :], start + 1):
        match = LINE.match(line)
        if match:
            below = lines[i + 1].strip() if i + 1 < len(lines) else ""
            found[match["name"]] = (match["type"], match["help"] or below)
    assert list(found) == list(params.CLEANUP_PARAMETERS)
    for name, (kind, help_text) in found.items():
        assert kind != "Unknown type", name
        assert help_text and not LINE.match("  " + help_text), name  # a help line follows
    assert found["dry_run"][0] == "bool" and found["max_deletions"][0] == "int"
    assert found["task_types"][0] == "list[str]" and found["chunk_size"][0] == "Optional[int]"


def test_annotated_defaults_are_the_parameters_defaults() -> None:
    """papermill still reads the same values (and they pass the parameter checks)."""
    from wsnb.cli.notebook import notebook_defaults

    defaults = notebook_defaults(runner.notebook_path("cleanup"))
    assert list(defaults) == list(params.CLEANUP_PARAMETERS)
    assert defaults["dry_run"] is True and defaults["max_deletions"] == 1000
    assert defaults["task_types"] == [] and defaults["chunk_size"] is None
    params.cleanup_params(**defaults)
