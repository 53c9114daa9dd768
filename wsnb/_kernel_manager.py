"""A jupyter_client kernel manager that starts its kernel with a given environment.

nbclient (under papermill) builds its kernel manager from ``kernel_manager_class`` and its own
traitlets ``config``; :func:`wsnb.runner.execute_notebook` passes this class and, through
:func:`kernel_config`, one run's environment and kernelspec folders. The kernel so gets its
variables (credentials, endpoint) without anything being written to this process's
``os.environ``, which every thread shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, List, Unicode, default
from traitlets.config import Config

__all__ = ["EnvKernelManager", "kernel_config"]


class EnvKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernel gets ``kernel_env`` as its whole environment and
    whose kernelspecs are also looked up in ``extra_kernel_dirs`` (searched first)."""

    kernel_env = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        default_value=None,
        allow_none=True,
        config=True,
        help="The kernel's environment (None: this process's, as jupyter_client does).",
    )
    extra_kernel_dirs = List(
        Unicode(), config=True, help="Kernelspec folders searched before Jupyter's own."
    )

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        specs = KernelSpecManager(data_dir=self.data_dir)
        specs.kernel_dirs = [*self.extra_kernel_dirs, *specs.kernel_dirs]
        return specs

    async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
        """Start the kernel; ``env`` defaults to ``kernel_env`` (restarts reuse it)."""
        if self.kernel_env is not None:
            kw.setdefault("env", dict(self.kernel_env))
        await super().start_kernel(**kw)


def kernel_config(env: Mapping[str, str], kernel_dirs: Sequence[str] = ()) -> Config:
    """The traitlets config that makes nbclient's :class:`EnvKernelManager` use ``env`` and
    ``kernel_dirs`` (pass it as papermill's ``config=`` with ``kernel_manager_class``)."""
    return Config(
        {
            EnvKernelManager.__name__: {
                "kernel_env": dict(env),
                "extra_kernel_dirs": list(kernel_dirs),
            }
        }
    )
