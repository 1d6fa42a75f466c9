"""The cache commands: list and clean the whole-video downloads kept in the config's cache_dir."""

from __future__ import annotations

from pathlib import Path

import click

from clipper.cli.console import show_error
from clipper.cli.options import config_option, config_or_exit, output_options


@click.group()
def cache() -> None:
    """The cache of whole-video downloads (config cache_dir)."""


@cache.command("list")
@output_options
@config_option
def cache_list(config_path: Path | None) -> None:
    """List the downloads kept in the cache."""
    config = config_or_exit(config_path)
    from clipper.fetch import cache as download_cache

    entries = download_cache.cache_entries(config.cache_dir)
    if not entries:
        show_error(f"{config.cache_dir}: the cache is empty")
    for path in entries:
        click.echo(f"{path.stat().st_size / 1e6:10.1f} MB  {path}")


@cache.command("clean")
@output_options
@config_option
def cache_clean(config_path: Path | None) -> None:
    """Delete every download kept in the cache (clips are not touched)."""
    config = config_or_exit(config_path)
    from clipper.fetch import cache as download_cache

    removed = download_cache.clean_cache(config.cache_dir)
    click.echo(f"clipper: removed {len(removed)} file(s), {sum(size for _, size in removed) / 1e6:.1f} MB,"
               f" from {config.cache_dir}", err=True)  # fmt: skip
