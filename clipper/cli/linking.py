"""--link for the commands: after a run, each clip made (or found made) linked into its note under its highlight;
with --dry-run, the changes shown as comments at the end of the script."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import click

from clipper.cli.console import EXIT_PROBLEMS, said, show_error, show_warning
from clipper.notes.parse import Note
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob

if TYPE_CHECKING:
    from clipper.run.manifest import ClipResult
    from clipper.run.notelinks import LinkReport

link_option = click.option(
    "--link/--no-link",
    default=None,
    help="Write a block embedding each clip under its highlight in the note (config link_notes; link_style: "
    "markdown or obsidian).",
)


def say_links(ctx: click.Context, report: LinkReport) -> None:
    """What linking did, on stderr: the notes written (not with -q), what was left alone, what failed."""
    if not said(ctx, "quiet"):
        for line in report.linked:
            click.echo(f"clipper: linked {line}", err=True)
    for line in report.notices:
        show_warning(line)
    for line in report.problems:
        show_error(line)


def link_results(ctx: click.Context, notes: Sequence[Note], jobs: Sequence[ClipJob], results: Sequence[ClipResult],
                 config: Config) -> LinkReport:  # fmt: skip
    """Link the clips of ``jobs`` that are done or were made before (``results``: in the jobs' order)."""
    from clipper.run.notelinks import link_notes

    made = {job.key for job, result in zip(jobs, results, strict=True) if result.status in ("done", "skipped")}
    report = link_notes(notes, {job.key: job.output for job in jobs}, made, config)
    say_links(ctx, report)
    return report


def after_run(ctx: click.Context, notes: Sequence[Note], jobs: Sequence[ClipJob],
              config: Config) -> Callable[[Sequence[ClipResult]], int]:  # fmt: skip
    """What a batch with --link does once its clips are made: the exit status it adds."""

    def link(results: Sequence[ClipResult]) -> int:
        return EXIT_PROBLEMS if link_results(ctx, notes, jobs, results, config).problems else 0

    return link


def dry_run_links(ctx: click.Context, notes: Sequence[Note], jobs: Sequence[ClipJob], config: Config) -> int:
    """The notes' changes, were every clip made, as comments at the end of the dry run's script; nothing written."""
    from clipper.cli.dry_run import comment
    from clipper.run.notelinks import link_notes

    report = link_notes(notes, {job.key: job.output for job in jobs}, {job.key for job in jobs}, config, write=False)
    click.echo(comment("--link: the notes would change so (nothing is written):" if report.diff
                       else "--link: no note would change"))  # fmt: skip
    for line in report.diff:
        click.echo(comment(line))
    say_links(ctx, report)
    return EXIT_PROBLEMS if report.problems else 0
