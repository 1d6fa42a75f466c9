"""The worker command: make clips from a Redis queue that ``batch --broker`` fills, on any machine that sees the
batches' output folders."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from clipper.cli.console import EXIT_INTERRUPTED, said, show_error
from clipper.cli.options import config_option, config_or_exit


@click.command()
@click.option("--broker", metavar="URL", help="The queue: redis://HOST:PORT/DB (else the config's broker:).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Clips made at once (default: the config's jobs).")
@config_option
@click.pass_context
def worker(ctx: click.Context, broker: str | None, jobs: int | None, config_path: Path | None) -> None:
    """Make the clips batches send to the queue (`clipper batch --broker URL`), until Ctrl-C.

    Clips are written where each batch says: its output folder must be one this machine sees (a shared folder).
    The worker's own config gives its host_limits and queue_heartbeat; each batch brings the rest."""
    config = config_or_exit(config_path, jobs=jobs)
    url = broker or config.broker
    if not url:
        show_error("no broker: give --broker redis://HOST:PORT/DB, or broker: in the config")
        sys.exit(2)
    from clipper.queue.actors import serve

    try:
        serve(url, config.jobs, config, verbose=said(ctx, "verbose"))
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
