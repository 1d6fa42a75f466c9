"""The mcp command: clipper's plan, cut, batch and list as tools of a Model Context Protocol server on stdio, for
an AI assistant's client to start (the server itself: clipper/cli/mcp_server.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from clipper.cli.console import EXIT_PROBLEMS, said, show_error
from clipper.cli.options import config_option, output_options
from clipper.run.progress import Reporter, make_reporter


@click.command()
@output_options
@config_option
@click.pass_context
def mcp(ctx: click.Context, config_path: Path | None) -> None:
    """Serve plan, cut, batch and list as MCP tools on stdin and stdout (for an AI assistant's client).

    stdout carries the protocol only; progress and problems go to stderr. The config is read on every call
    (--config, else as each command finds it), so a broken one is that call's error."""
    try:
        from clipper.cli.mcp_server import serve  # the SDK: only this command loads it
    except ImportError as error:
        show_error(f"the MCP server needs the mcp package ({error}): pip install 'clipper[mcp]'")
        sys.exit(EXIT_PROBLEMS)

    def reporter() -> Reporter:
        return make_reporter(quiet=said(ctx, "quiet"), verbose=said(ctx, "verbose"),
                             progress=str(ctx.obj.get("progress") or "auto"))  # fmt: skip

    serve(config_path, reporter)
