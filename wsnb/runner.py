"""Run the bundled notebooks with papermill and export them with nbconvert.

The notebooks stay thin: the scheduled cleanup notebook validates its papermill parameters with
:func:`cleanup_params`, selects with :func:`select_tasks` and writes its files with
:func:`write_report`, so ``wsnb run``, ``wsnb demo`` and a plain ``papermill`` call share one
definition of every parameter. Secrets never travel as parameters (papermill writes parameters
into the output notebook): credentials come from the environment or the SDK credentials file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from wsnb.models import BATCH_DELETE_MAX, LastStatus, TaskType

if TYPE_CHECKING:
    from wsnb.client import Client
    from wsnb.report import DeletionReport

__all__ = [
    "CLEANUP_PARAMETERS",
    "CREDENTIAL_ENV_VARS",
    "NOTEBOOKS",
    "CleanupParams",
    "ParameterError",
    "SecretParameterError",
    "check_no_secrets",
    "cleanup_client",
    "cleanup_params",
    "credentials_configured",
    "execute_notebook",
    "export_html",
    "format_summary",
    "kernel_for_current_env",
    "notebook_path",
    "parse_parameter",
    "select_tasks",
    "write_report",
]

#: Short names of the bundled notebooks (``wsnb run NAME``) and their files.
NOTEBOOKS: Final = {
    "cleanup": "scheduled_cleanup.ipynb",
    "select": "select_and_delete.ipynb",
    "demo": "demo.ipynb",
}

#: Environment variables that carry (or point to) credentials.
CREDENTIAL_ENV_VARS: Final = (
    "HUAWEICLOUD_SDK_AK",
    "HUAWEICLOUD_SDK_SK",
    "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
    "WSNB_AUTH_TOKEN",
)

#: Files :func:`write_report` writes into ``output_dir``.
REPORT_FILES: Final = {"html": "report.html", "csv": "report.csv", "json": "report.json"}

_SECRET_WORDS: Final = ("secret", "token", "password", "passwd", "credential", "private_key")
_SECRET_NAMES: Final = frozenset(
    {"ak", "sk", "access_key", "secret_key", "accesskey", "secretkey", "access_key_id"}
)


class ParameterError(ValueError):
    """A notebook parameter is unknown, of the wrong type, or out of range."""


class SecretParameterError(ParameterError):
    """A secret was passed as a parameter (papermill would write it into the output notebook)."""


# --- secrets --------------------------------------------------------------------------------------


def _looks_secret(name: str) -> bool:
    low = name.lower().lstrip("_")
    if low in _SECRET_NAMES or low.endswith(("_ak", "_sk")) or low.startswith(("ak_", "sk_")):
        return True
    return any(word in low for word in _SECRET_WORDS) or low.startswith("huaweicloud_sdk_")


def check_no_secrets(names: Mapping[str, Any] | Sequence[str]) -> None:
    """Refuse parameter names that look like credentials (ak, sk, token, ...); never the value."""
    bad = sorted(n for n in names if isinstance(n, str) and _looks_secret(n))
    if bad:
        raise SecretParameterError(
            f"refusing secret-looking parameter(s) {bad}: credentials must come from the "
            "environment (HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK / WSNB_AUTH_TOKEN) or the SDK "
            "credentials file, never from notebook parameters, which papermill writes into the "
            "output notebook. If one was passed, delete that output notebook and rotate the key."
        )


def credentials_configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether any credential source is configured (env variables or the credentials file)."""
    env = os.environ if environ is None else environ
    if any(env.get(name) for name in CREDENTIAL_ENV_VARS):
        return True
    home = env.get("HOME")
    default = (Path(home) if home else Path.home()) / ".huaweicloud" / "credentials"
    return default.is_file()


# --- the cleanup parameters -----------------------------------------------------------------------


@dataclass(frozen=True)
class CleanupParams:
    """The validated parameters of ``scheduled_cleanup.ipynb`` (and ``wsnb run cleanup``).

    Filters combine with AND. Times are ``pd.Timestamp`` in UTC (naive input is UTC).
    """

    endpoint: str | None = None
    region: str | None = None
    project_id: str | None = None
    name_pattern: str | None = None
    task_types: tuple[str, ...] = ()
    last_statuses: tuple[str, ...] = ()
    expired_only: bool = False
    disabled_only: bool = False
    next_run_before: pd.Timestamp | None = None
    next_run_after: pd.Timestamp | None = None
    expire_before: pd.Timestamp | None = None
    expire_after: pd.Timestamp | None = None
    all_tasks: bool = False
    chunk_size: int | None = None
    dry_run: bool = True
    max_deletions: int = 1000
    fail_on_error: bool = True
    output_dir: Path = field(default_factory=lambda: Path("wsnb-report"))
    ledger_path: Path | None = None
    reads_per_minute: float | None = 200.0
    writes_per_minute: float | None = 100.0

    def filters(self) -> dict[str, Any]:
        """The filters that are set, for display (names as in the notebook)."""
        shown: dict[str, Any] = {}
        for name in _FILTERS:
            value = getattr(self, name)
            if value not in (None, False, ()):
                shown[name] = value.isoformat() if isinstance(value, pd.Timestamp) else value
        return shown

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly values (paths and times as text)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, pd.Timestamp):
                out[key] = value.isoformat()
            elif isinstance(value, Path):
                out[key] = str(value)
            elif isinstance(value, tuple):
                out[key] = list(value)
        return out


#: Every parameter name of the cleanup notebook, in order.
CLEANUP_PARAMETERS: Final = tuple(f.name for f in fields(CleanupParams))

_FILTERS: Final = (
    "name_pattern",
    "task_types",
    "last_statuses",
    "expired_only",
    "disabled_only",
    "next_run_before",
    "next_run_after",
    "expire_before",
    "expire_after",
)


def _text(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ParameterError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    return value


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ParameterError(f"{name} must be True or False, got {value!r}")


def _int(name: str, value: Any, low: int, high: int | None, *, none_ok: bool) -> int | None:
    if value is None or value == "":
        if none_ok:
            return None
        raise ParameterError(f"{name} is required")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise ParameterError(f"{name} must be an integer, got {value!r}") from None
    if number < low or (high is not None and number > high):
        limit = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ParameterError(f"{name} must be {limit}, got {number}")
    return number


def _cap(value: Any) -> int:
    """``max_deletions``: every deletion is capped, so ``None``/empty is refused."""
    if value is None or value == "":
        raise ParameterError(
            "max_deletions must be a number >= 0, not None: every deletion is capped. Pass an "
            "explicit number such as the size of the selection if you mean to delete them all."
        )
    number = _int("max_deletions", value, 0, None, none_ok=False)
    assert number is not None
    return number


def _rate(name: str, value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"{name} must be a number > 0 or None, got {value!r}")
    if not value > 0:
        raise ParameterError(f"{name} must be > 0 or None (no limit), got {value!r}")
    return float(value)


def _choices(name: str, value: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
        raise ParameterError(f"{name} must be a list of strings, got {value!r}")
    cleaned = tuple(dict.fromkeys(v.strip().upper() for v in items if v.strip()))
    unknown = [v for v in cleaned if v not in allowed]
    if unknown:
        raise ParameterError(f"{name}: unknown value(s) {unknown}; allowed: {list(allowed)}")
    return cleaned


def _time(name: str, value: Any) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"{name} must be a date/time such as '2026-01-31' or '2026-01-31T22:00:00+08:00', "
            f"got {value!r} ({exc})"
        ) from None
    if pd.isna(stamp):
        raise ParameterError(f"{name} must be a date/time, got {value!r}")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _path(value: Any, env_name: str, default: Path | None) -> Path | None:
    if value is None or value == "":
        from_env = os.environ.get(env_name)
        return Path(from_env).expanduser() if from_env else default
    if not isinstance(value, str | os.PathLike):
        raise ParameterError(f"path parameter must be a string, got {value!r}")
    return Path(value).expanduser()


def _ordered(low_name: str, low: Any, high_name: str, high: Any) -> None:
    if low is not None and high is not None and not low < high:
        raise ParameterError(f"{low_name} ({low}) must be earlier than {high_name} ({high})")


def cleanup_params(**kw: Any) -> CleanupParams:
    """Validate the cleanup notebook's parameters; errors name the parameter and the limit.

    Lists may be given as lists or comma-separated text (``"STOP,REBOOT"``). Empty text means
    "not set". ``output_dir`` "" uses ``$WSNB_OUTPUT_DIR`` else ``./wsnb-report``;
    ``ledger_path`` "" uses wsnb's default ledger (``$WSNB_LEDGER`` ...). At least one filter
    is required unless ``all_tasks=True`` (filters that are set still apply).
    """
    check_no_secrets(kw)
    unknown = sorted(set(kw) - set(CLEANUP_PARAMETERS))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown}; known: {list(CLEANUP_PARAMETERS)}")
    d = CleanupParams()
    get = kw.get
    params = CleanupParams(
        endpoint=_text("endpoint", get("endpoint")),
        region=_text("region", get("region")),
        project_id=_text("project_id", get("project_id")),
        name_pattern=_text("name_pattern", get("name_pattern")),
        task_types=_choices("task_types", get("task_types"), [t.value for t in TaskType]),
        last_statuses=_choices(
            "last_statuses", get("last_statuses"), [s.value for s in LastStatus]
        ),
        expired_only=_flag("expired_only", get("expired_only", d.expired_only)),
        disabled_only=_flag("disabled_only", get("disabled_only", d.disabled_only)),
        next_run_before=_time("next_run_before", get("next_run_before")),
        next_run_after=_time("next_run_after", get("next_run_after")),
        expire_before=_time("expire_before", get("expire_before")),
        expire_after=_time("expire_after", get("expire_after")),
        all_tasks=_flag("all_tasks", get("all_tasks", d.all_tasks)),
        chunk_size=_int("chunk_size", get("chunk_size"), 1, BATCH_DELETE_MAX, none_ok=True),
        dry_run=_flag("dry_run", get("dry_run", d.dry_run)),
        max_deletions=_cap(get("max_deletions", d.max_deletions)),
        fail_on_error=_flag("fail_on_error", get("fail_on_error", d.fail_on_error)),
        output_dir=_path(get("output_dir"), "WSNB_OUTPUT_DIR", d.output_dir) or d.output_dir,
        ledger_path=_path(get("ledger_path"), "WSNB_LEDGER", None),
        reads_per_minute=_rate("reads_per_minute", get("reads_per_minute", d.reads_per_minute)),
        writes_per_minute=_rate("writes_per_minute", get("writes_per_minute", d.writes_per_minute)),
    )
    if params.endpoint and params.region:
        raise ParameterError("set endpoint or region, not both")
    _ordered("next_run_after", params.next_run_after, "next_run_before", params.next_run_before)
    _ordered("expire_after", params.expire_after, "expire_before", params.expire_before)
    if not params.all_tasks and not params.filters():
        raise ParameterError(
            f"no filter set: set at least one of {list(_FILTERS)}, "
            "or all_tasks=True to select every task"
        )
    return params


# --- the notebook's steps -------------------------------------------------------------------------


def cleanup_client(params: CleanupParams) -> Client:
    """A client for the parameters' endpoint/region/project, credentials from the environment."""
    from wsnb._retry import RateLimit
    from wsnb.client import Client

    kw: dict[str, Any] = {
        "rate_limit": RateLimit(params.reads_per_minute, params.writes_per_minute)
        if params.reads_per_minute or params.writes_per_minute
        else None
    }
    if params.endpoint:
        kw["endpoint"] = params.endpoint
    if params.region:
        kw["region"] = params.region
    if params.project_id:
        kw["project_id"] = params.project_id
    return Client.from_env(**kw)


def select_tasks(
    client: Client, params: CleanupParams, *, frame: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The tasks the filters select (AND), listed once; single values filter server-side."""
    from wsnb import frames

    if frame is None:
        api_filters: dict[str, Any] = {}
        if params.name_pattern:
            api_filters["task_name"] = params.name_pattern
        if len(params.task_types) == 1:
            api_filters["task_type"] = params.task_types[0]
        if len(params.last_statuses) == 1:
            api_filters["last_status"] = params.last_statuses[0]
        frame = frames.tasks_frame(client, **api_filters)
    mask = pd.Series(True, index=frame.index)
    if params.name_pattern:
        mask &= frames.name_matches(frame, params.name_pattern)
    if params.task_types:
        mask &= frames.of_type(frame, *params.task_types)
    if params.last_statuses:
        mask &= frame["last_status"].isin(params.last_statuses).fillna(False).astype(bool)
    if params.expired_only:
        mask &= frames.expired(frame)
    if params.disabled_only:
        mask &= frames.disabled(frame)
    if params.next_run_before is not None or params.next_run_after is not None:
        mask &= frames.next_run_between(frame, params.next_run_after, params.next_run_before)
    expire = frame["expire_time"]
    if params.expire_before is not None:
        mask &= (expire < params.expire_before).fillna(False).astype(bool)
    if params.expire_after is not None:
        mask &= (expire >= params.expire_after).fillna(False).astype(bool)
    return frame[mask]


def write_report(
    report: DeletionReport, output_dir: str | os.PathLike[str], params: CleanupParams | None = None
) -> dict[str, Path]:
    """Write ``report.html``, ``report.csv`` and ``report.json`` (plus the parameters used)."""
    target = Path(output_dir)
    target.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": report.to_html(target / REPORT_FILES["html"]),
        "csv": report.to_csv(target / REPORT_FILES["csv"]),
        "json": report.to_json(target / REPORT_FILES["json"]),
    }
    if params is not None:
        payload = json.loads(paths["json"].read_text(encoding="utf-8"))
        payload["parameters"] = params.as_dict()
        paths["json"].write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    return paths


def format_summary(summary: Mapping[str, Any], paths: Mapping[str, Any] | None = None) -> str:
    """A few human lines about a run (from ``DeletionReport.summary`` or ``report.json``)."""
    kind = "dry run" if summary.get("dry_run") else "deletion run"
    counts = ", ".join(
        f"{summary[k]} {k.replace('_', ' ')}"
        for k in ("planned", "deleted", "already_absent", "invalid", "skipped", "failed", "pending")
        if summary.get(k)
    )
    ok = (
        summary.get("status") == "done" and not summary.get("failed") and not summary.get("pending")
    )
    lines = [
        f"wsnb {kind} {summary.get('run_id')}: {'OK' if ok else 'NEEDS ATTENTION'} "
        f"({summary.get('status')})",
        f"  selected {summary.get('ids', 0)} task(s): {counts or 'nothing to do'}",
    ]
    duration = summary.get("duration_s")
    if isinstance(duration, int | float):
        lines.append(f"  {summary.get('calls', 0)} API calls in {duration:.1f} s")
    for name, path in (paths or {}).items():
        lines.append(f"  {name:>5}: {path}")
    return "\n".join(lines)


# --- papermill / nbconvert ------------------------------------------------------------------------


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


def parse_parameter(text: str) -> Any:
    """A ``-p`` value as papermill reads it: True/False/None, int, float, JSON list, else text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text.strip().startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


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
def kernel_for_current_env(name: str = "python3") -> Iterator[str]:
    """A kernel name whose python is this interpreter (so the kernel can import wsnb).

    Uses ``name`` when its kernelspec (e.g. registered by ``ipykernel install --sys-prefix``)
    runs this interpreter; otherwise writes a throwaway kernelspec for ``sys.executable`` and
    puts it first on ``JUPYTER_PATH`` while the block runs.
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
            yield name
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
        old = os.environ.get("JUPYTER_PATH")
        with patched_environ({"JUPYTER_PATH": os.pathsep.join(filter(None, (tmp, old)))}):
            yield own


_ENV_LOCK = threading.RLock()


@contextlib.contextmanager
def patched_environ(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables while the block runs.

    Kernels started by papermill inherit this process's environment, which is how credentials
    reach them without ever being parameters.
    """
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in changes}
        try:
            for key, value in changes.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


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

    ``env`` changes the kernel's environment (None removes a variable). Without
    ``kernel_name`` the kernel runs this interpreter (:func:`kernel_for_current_env`). Raises
    papermill's ``PapermillExecutionError`` when a cell fails (``output`` is still written).
    """
    import papermill

    params = dict(parameters or {})
    check_no_secrets(params)
    source = notebook_path(notebook)
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        stack.enter_context(patched_environ(dict(env or {})))
        kernel = kernel_name or stack.enter_context(kernel_for_current_env())
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters=params,
            kernel_name=kernel,
            cwd=str(cwd) if cwd is not None else None,
            log_output=log_output,
            progress_bar=False,
            execution_timeout=execution_timeout,
        )
    return target


def export_html(
    notebook: str | os.PathLike[str], html: str | os.PathLike[str], *, no_input: bool = True
) -> Path:
    """Render an executed notebook as standalone HTML (code cells hidden with ``no_input``)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()  # type: ignore[no-untyped-call]
    if no_input:
        exporter.exclude_input = True
        exporter.exclude_input_prompt = True
        exporter.exclude_output_prompt = True
    node = nbformat.read(str(notebook), as_version=4)  # type: ignore[no-untyped-call]
    body, _ = exporter.from_notebook_node(node)
    target = Path(html)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target
