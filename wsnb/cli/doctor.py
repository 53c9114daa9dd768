"""``wsnb doctor``: check the setup against a real tenant (read-only), print a table.

Exit code 0 when no check failed (warnings allowed), 1 otherwise. The connection options are
those of ``wsnb tasks list``; credentials come only from the environment or the SDK credentials
file. Only click is imported at module level, so ``wsnb doctor --help`` stays light (no pandas).
"""

from __future__ import annotations

import click

from wsnb.cli._common import connection_options


@click.command()
@connection_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds each network check may take.",
)
@click.pass_context
def doctor(
    ctx: click.Context,
    endpoint: str | None,
    region: str | None,
    project_id: str | None,
    timeout: float,
) -> None:
    """Check credentials, endpoint, network, clock and one signed call (changes nothing)."""
    from wsnb.checkup import doctor as run_doctor

    report = run_doctor(endpoint=endpoint, region=region, project_id=project_id, timeout=timeout)
    click.echo(report.table())
    ctx.exit(0 if report.ok else 1)
