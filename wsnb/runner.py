"""Run notebooks with papermill (in a kernel running this Python) and export them with nbconvert.

The kernel's environment is handed to it explicitly (:func:`execute_notebook`'s ``env``, through
the kernel manager nbclient starts), never by changing this process's ``os.environ``: that is how
credentials reach a notebook without ever being parameters, and runs in several threads cannot
see each other's variables. Parameters are checked by :mod:`wsnb.params` (secrets refused);
the notebooks select through :mod:`wsnb.selection` and report through :mod:`wsnb.report`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

from wsnb.params import check_no_secrets

__all__ = [
    "NOTEBOOKS",
    "LocalKernel",
    "execute_notebook",
    "export_html",
    "kernel_environ",
    "kernel_for_current_env",
    "notebook_path",
]

#: Short names of the bundled notebooks (``wsnb run NAME``) and their files.
NOTEBOOKS: Final = {
    "cleanup": "scheduled_cleanup.ipynb",
    "select": "select_and_delete.ipynb",
    "demo": "demo.ipynb",
}


def notebook_path(name: str | os.PathLike[str]) -> Path:
    """A bundled notebook by short name (``cleanup``, ``select``, ``demo``) or file, or a path."""
    candidate = Path(name)
    if candidate.suffix == ".ipynb" and candidate.is_file():
        return candidate
    file = NOTEBOOKS.get(str(name), candidate.name if candidate.suffix else f"{name}.ipynb")
    package = Path(__file__).resolve().parent
    for folder in (package / "notebooks", package.parent / "notebooks", Path.cwd() / "notebooks"):
        if (folder / file).is_file():
            return folder / file
    raise FileNotFoundError(
        f"no notebook {name!r}: give a path to an .ipynb file or one of {sorted(NOTEBOOKS)}"
    )


class LocalKernel(NamedTuple):
    """A kernel to run notebooks in: its kernelspec ``name`` and, for a throwaway kernelspec,
    the Jupyter data folder holding it (``data_dir``; ``None`` for an installed one).

    Jupyter finds a throwaway kernelspec only when told where: :func:`execute_notebook` tells
    its kernel manager; a subprocess (``papermill -k NAME``) needs :meth:`environ`.
    """

    name: str
    data_dir: Path | None = None

    @property
    def kernel_dirs(self) -> list[str]:
        """The kernelspec folders to search first (empty for an installed kernelspec)."""
        return [str(self.data_dir / "kernels")] if self.data_dir is not None else []

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` with ``JUPYTER_PATH`` extended so a subprocess finds this kernel."""
        env = dict(base)
        if self.data_dir is not None:
            parts = (str(self.data_dir), base.get("JUPYTER_PATH"))
            env["JUPYTER_PATH"] = os.pathsep.join(p for p in parts if p)
        return env


def _kernel_python(spec_argv: Sequence[str]) -> Path | None:
    """The interpreter a kernelspec starts (jupyter_client runs a bare ``python`` as this one)."""
    if not spec_argv:
        return None
    exe = spec_argv[0]
    major, minor = sys.version_info[:2]
    if exe in ("python", f"python{major}", f"python{major}.{minor}"):
        return Path(os.path.abspath(sys.executable))
    found = exe if os.path.isabs(exe) else shutil.which(exe)
    return Path(os.path.abspath(found)) if found else None


@contextlib.contextmanager
def kernel_for_current_env(name: str = "python3") -> Iterator[LocalKernel]:
    """A kernel whose python is this interpreter (so the kernel can import wsnb).

    Uses ``name`` when its kernelspec (e.g. registered by ``ipykernel install --sys-prefix``)
    runs this interpreter; otherwise writes a throwaway kernelspec for ``sys.executable`` into a
    temporary Jupyter data folder that lives while the block runs. ``os.environ`` is not changed.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        import ipykernel  # noqa: F401
    except ImportError:
        raise RuntimeError(
            f"ipykernel is not installed for {sys.executable}; `pip install ipykernel`"
        ) from None
    here = Path(os.path.abspath(sys.executable))  # not resolved: a venv's python is a symlink
    try:
        spec = KernelSpecManager().get_kernel_spec(name)
        if _kernel_python(spec.argv) == here:
            yield LocalKernel(name)
            return
    except NoSuchKernel:
        pass
    with tempfile.TemporaryDirectory(prefix="wsnb-kernel-") as tmp:
        own = "wsnb-" + re.sub(r"[^a-z0-9]+", "-", here.as_posix().lower()).strip("-")[-60:]
        folder = Path(tmp) / "kernels" / own
        folder.mkdir(parents=True)
        spec_json = {
            "argv": [str(here), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python 3 ({here.parent.parent.name})",
            "language": "python",
        }
        (folder / "kernel.json").write_text(json.dumps(spec_json), encoding="utf-8")
        yield LocalKernel(own, Path(tmp))


def kernel_environ(
    changes: Mapping[str, str | None] | None = None, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A kernel's environment: ``base`` (default: a copy of ``os.environ``) with ``changes``
    applied (``None`` removes a variable). Neither mapping is modified."""
    env = dict(os.environ if base is None else base)
    for key, value in (changes or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def execute_notebook(
    notebook: str | os.PathLike[str],
    output: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str | None] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    kernel_name: str | None = None,
    log_output: bool = False,
    execution_timeout: float | None = None,
) -> Path:
    """Execute ``notebook`` with papermill into ``output``; secret-looking parameters refused.

    ``env`` changes the kernel's environment (None removes a variable); it is given to the
    kernel manager, ``os.environ`` is left alone. Without ``kernel_name`` the kernel runs this
    interpreter (:func:`kernel_for_current_env`). Raises papermill's
    ``PapermillExecutionError`` when a cell fails (``output`` is still written).
    """
    import papermill

    from wsnb._kernel_manager import EnvKernelManager, kernel_config

    params = dict(parameters or {})
    check_no_secrets(params)
    source = notebook_path(notebook)
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    kernel_env = kernel_environ(env)
    with contextlib.ExitStack() as stack:
        kernel = (
            LocalKernel(kernel_name)
            if kernel_name
            else stack.enter_context(kernel_for_current_env())
        )
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters=params,
            kernel_name=kernel.name,
            cwd=str(cwd) if cwd is not None else None,
            log_output=log_output,
            progress_bar=False,
            execution_timeout=execution_timeout,
            kernel_manager_class=EnvKernelManager,
            config=kernel_config(kernel_env, kernel.kernel_dirs),
        )
    return target


#: The export's only styles: a readable page, tables and printed output (nbconvert's full
#: JupyterLab theme is ~290 KB of CSS and scripts for a page that shows text and tables).
_EXPORT_CSS: Final = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "font-size:14px;line-height:1.45;color:#1f2328;max-width:980px;margin:16px auto;"
    "padding:0 16px}"
    "h1{font-size:22px}h2{font-size:17px;margin-top:24px}"
    "pre{background:#f6f8fa;padding:8px 10px;overflow-x:auto;font-size:12.5px;margin:6px 0}"
    "table.dataframe{border-collapse:collapse;font-size:12.5px;margin:6px 0}"
    "table.dataframe th,table.dataframe td{border:1px solid #d0d7de;padding:3px 8px;"
    "text-align:left;vertical-align:top}"
    "table.dataframe thead th{background:#eaeef2}"
    ".output_stderr pre,.output_error pre{background:#fff0f0}"
)


def _notebook_title(node: Any, fallback: str) -> str:
    """The notebook's metadata ``title``, else its first Markdown heading, else ``fallback``."""
    title = node.metadata.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    for cell in node.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", cell.source, re.MULTILINE)
            if match:
                return match.group(1)
    return fallback


def export_html(
    notebook: str | os.PathLike[str],
    html: str | os.PathLike[str],
    *,
    no_input: bool = True,
    title: str | None = None,
) -> Path:
    """Render an executed notebook as one compact, standalone HTML page.

    nbconvert's ``basic`` template (the cells' markup without JupyterLab's theme, scripts or
    heading anchors) wrapped in a small page with :data:`_EXPORT_CSS`. ``title`` names the page
    (default: the notebook's metadata ``title``, else its first heading); ``no_input`` hides the
    code cells and prompts.
    """
    import html as html_lib

    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic")  # type: ignore[no-untyped-call]
    exporter.exclude_anchor_links = True
    if no_input:
        exporter.exclude_input = True
        exporter.exclude_input_prompt = True
        exporter.exclude_output_prompt = True
    node = nbformat.read(str(notebook), as_version=4)  # type: ignore[no-untyped-call]
    body, _ = exporter.from_notebook_node(node)
    name = title or _notebook_title(node, Path(notebook).stem)
    page = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html_lib.escape(name)}</title><style>{_EXPORT_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
    target = Path(html)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target
