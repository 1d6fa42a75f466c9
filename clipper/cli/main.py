"""The command line: the clipper group with its commands, and the entry point that maps errors (ClipperError,
Ctrl-C, OS errors) to one line and an exit code (only here)."""

from __future__ import annotations

import gc
from collections.abc import Sequence

import click

from clipper import __version__
from clipper.cli.batch import batch
from clipper.cli.cache import cache
from clipper.cli.console import EXIT_INTERRUPTED, EXIT_PROBLEMS, os_error_text, show_error
from clipper.cli.cut import cut
from clipper.cli.doctor import doctor
from clipper.cli.listing import gallery_command, list_clips, plan
from clipper.cli.mcp import mcp
from clipper.cli.options import output_options
from clipper.cli.watch import watch
from clipper.cli.worker import worker
from clipper.core.errors import ClipperError

# Each command loads what it runs, inside it: `clipper --help` and `clipper plan` start without the runner, the
# fetcher, the cutter or the relay's HTTP server (tests/test_startup.py lists what a fresh run imports).


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="clipper")
@output_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Turn markdown video notes into video clips."""
    ctx.ensure_object(dict)


cli.add_command(plan)
cli.add_command(list_clips)
cli.add_command(gallery_command)
cli.add_command(batch)
cli.add_command(cut)
cli.add_command(cache)
cli.add_command(doctor)
cli.add_command(worker)
cli.add_command(mcp)
cli.add_command(watch)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for the ``clipper`` script and ``python -m clipper``."""
    # The imports leave many long-lived objects: keep the collector off them (again once a run has loaded more).
    gc.freeze()
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="clipper", standalone_mode=False)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except (KeyboardInterrupt, click.Abort):  # Ctrl-C before the run started (or after it): nothing half-done
        show_error("interrupted")
        return EXIT_INTERRUPTED
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except ClipperError as error:
        show_error(str(error))
        return EXIT_PROBLEMS
    except OSError as error:  # the disk is full, a folder cannot be written: one line, not a traceback
        show_error(os_error_text(error))
        return EXIT_PROBLEMS
    return result if isinstance(result, int) else 0  # --help and --version return 0
