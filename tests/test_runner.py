"""wsnb.runner: bundled notebook paths, kernels for this Python, the kernel's env, export."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from wsnb import runner

REPO = Path(__file__).resolve().parents[1]


def _probe_notebook(path: Path, code: str) -> Path:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(code)]  # type: ignore[no-untyped-call]
    nbformat.write(nb, path)  # type: ignore[no-untyped-call]
    return path


def _printed(path: Path) -> str:
    [cell] = nbformat.read(path, as_version=4).cells  # type: ignore[no-untyped-call]
    return "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")


def _foreign_python3(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make Jupyter's ``python3`` kernelspec run some other program."""
    foreign = folder / "kernels" / "python3"
    foreign.mkdir(parents=True)
    (foreign / "kernel.json").write_text(
        json.dumps({"argv": ["/usr/bin/false", "-f", "{connection_file}"], "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(folder))
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == "/usr/bin/false"


def test_notebook_path() -> None:
    path = runner.notebook_path("cleanup")
    assert path == REPO / "notebooks" / "scheduled_cleanup.ipynb"
    assert runner.notebook_path(path) == path
    with pytest.raises(FileNotFoundError, match="cleanup"):
        runner.notebook_path("nope")


def test_kernel_is_used_when_it_runs_this_python() -> None:
    with runner.kernel_for_current_env() as kernel:
        spec = KernelSpecManager().get_kernel_spec(kernel.name)
        assert runner._kernel_python(spec.argv) == Path(os.path.abspath(sys.executable))


def test_kernel_falls_back_when_python3_is_foreign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _foreign_python3(tmp_path, monkeypatch)
    with runner.kernel_for_current_env() as kernel:
        assert kernel.name != "python3" and kernel.data_dir is not None
        specs = KernelSpecManager(kernel_dirs=kernel.kernel_dirs)
        assert specs.get_kernel_spec(kernel.name).argv[0] == os.path.abspath(sys.executable)
        assert os.environ["JUPYTER_PATH"] == str(tmp_path)  # not changed while in use
        child = kernel.environ(os.environ)  # what a `papermill -k` subprocess needs
        assert child["JUPYTER_PATH"] == os.pathsep.join([str(kernel.data_dir), str(tmp_path)])
        added = kernel.data_dir
    assert os.environ["JUPYTER_PATH"] == str(tmp_path)
    assert not added.exists()


def test_kernel_environ_applies_changes_to_a_copy() -> None:
    base = {"KEEP": "1", "DROP": "2"}
    env = runner.kernel_environ({"DROP": None, "NEW": "3", "ABSENT": None}, base)
    assert env == {"KEEP": "1", "NEW": "3"}
    assert base == {"KEEP": "1", "DROP": "2"}
    assert runner.kernel_environ() == dict(os.environ)


@pytest.mark.slow
def test_the_kernel_gets_its_env_and_os_environ_is_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``env`` reaches the kernel (set and removed variables) while this process's
    ``os.environ`` stays the same the whole time, as seen from another thread."""
    monkeypatch.setenv("WSNB_TEST_PARENT_ONLY", "parent")
    monkeypatch.delenv("WSNB_TEST_KERNEL_ONLY", raising=False)
    source = _probe_notebook(
        tmp_path / "probe.ipynb",
        "import json, os, time\n"
        "time.sleep(0.5)\n"
        "print(json.dumps({k: os.environ.get(k) for k in "
        "('WSNB_TEST_KERNEL_ONLY', 'WSNB_TEST_PARENT_ONLY')}))",
    )
    before = dict(os.environ)
    changed: list[dict[str, str]] = []
    errors: list[BaseException] = []

    def execute() -> None:
        try:
            runner.execute_notebook(
                source,
                tmp_path / "out.ipynb",
                env={"WSNB_TEST_KERNEL_ONLY": "kernel", "WSNB_TEST_PARENT_ONLY": None},
            )
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    worker = threading.Thread(target=execute)
    worker.start()
    samples = 0
    while worker.is_alive():
        now = dict(os.environ)
        samples += 1
        if now != before:
            changed.append(now)
        worker.join(0.005)
    assert not errors, errors
    assert samples > 20  # the kernel's start and the cell's sleep were watched
    assert changed == []
    assert json.loads(_printed(tmp_path / "out.ipynb")) == {
        "WSNB_TEST_KERNEL_ONLY": "kernel",
        "WSNB_TEST_PARENT_ONLY": None,
    }


@pytest.mark.slow
def test_execute_finds_the_throwaway_kernel_without_jupyter_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _foreign_python3(tmp_path / "jupyter", monkeypatch)
    source = _probe_notebook(tmp_path / "probe.ipynb", "import sys\nprint(sys.executable)")
    runner.execute_notebook(source, tmp_path / "out.ipynb")
    assert _printed(tmp_path / "out.ipynb").strip() == os.path.abspath(sys.executable)
    assert os.environ["JUPYTER_PATH"] == str(tmp_path / "jupyter")


def test_export_html_hides_input(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    cell = nbformat.v4.new_code_cell("secret_looking_source_code = 1")  # type: ignore[no-untyped-call]
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="visible output\n")]  # type: ignore[no-untyped-call]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "n.ipynb")  # type: ignore[no-untyped-call]
    page = runner.export_html(tmp_path / "n.ipynb", tmp_path / "n.html").read_text()
    assert "visible output" in page
    assert "secret_looking_source_code" not in page
    full = runner.export_html(tmp_path / "n.ipynb", tmp_path / "f.html", no_input=False)
    assert "secret_looking_source_code" in full.read_text()


def _report_notebook(path: Path) -> Path:
    """An executed-looking notebook: a heading, printed text, a table and a report's HTML."""
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    heading = nbformat.v4.new_markdown_cell("# Scheduled cleanup\n\nSome *prose*.")  # type: ignore[no-untyped-call]
    code = nbformat.v4.new_code_cell("hidden_source_code = 1")  # type: ignore[no-untyped-call]
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="14 task(s) selected\n"),  # type: ignore[no-untyped-call]
        nbformat.v4.new_output(  # type: ignore[no-untyped-call]
            "display_data",
            data={
                "text/html": '<table class="dataframe"><tr><td>t1</td></tr></table>',
                "text/plain": "t1",
            },
        ),
    ]
    nb.cells = [heading, code]
    nbformat.write(nb, path)  # type: ignore[no-untyped-call]
    return path


def test_export_html_has_a_real_title_and_stays_small(tmp_path: Path) -> None:
    notebook = _report_notebook(tmp_path / "n.ipynb")
    title = "wsnb cleanup report — project p1 (cn-north-4) — 30 Nov 2026"
    page = runner.export_html(notebook, tmp_path / "n.html", title=title).read_text()
    assert f"<title>{title}</title>" in page
    assert "14 task(s) selected" in page and "t1" in page and "Scheduled cleanup" in page
    assert "hidden_source_code" not in page
    assert len(page.encode()) < 20_000  # the full JupyterLab template is ~290 KB
    assert "<script" not in page.lower() and "¶" not in page  # no MathJax/require, no anchors
    untitled = runner.export_html(notebook, tmp_path / "u.html").read_text()
    assert "<title>Scheduled cleanup</title>" in untitled  # the first heading, not "Notebook"
