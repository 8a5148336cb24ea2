"""The ``budget`` command line: options, progress and printing; the work is in the library.

Exit codes: 0 ok; 1 invalid input found (a rejected workbook, a missing prefecture under
``--strict``) or an operation that could not be done; 2 usage error (a bad option, an
unknown prefecture or year).

Commands live in ``budget.commands.<name>`` and are imported only when run, so that
``budget --help`` does not pay for pandas, pandera and openpyxl.
"""

from __future__ import annotations

import gc
import importlib

import click

from budget import __version__
from budget.errors import BudgetError, UsageError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: command name → (module in budget.commands, one-line help shown by ``budget --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "menu": ("menu", "Print a fiscal year's menu of subsidy items."),
    "generate": ("generate", "Write one planning workbook per prefecture."),
    "validate": ("validate", "Check returned workbooks without storing them."),
    "ingest": ("ingest", "Validate and store every workbook of a folder."),
    "status": ("status", "Show which prefectures have submitted."),
    "aggregate": ("aggregate", "Write the summary workbooks of the accepted plans."),
    "demo": ("demo", "Run the whole cycle on built-in sample data."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"budget.commands.{COMMANDS[name][0]}")
        return getattr(module, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help without importing every command module.
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise click.UsageError(str(exc)) from exc
        except BudgetError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise click.ClickException(str(exc)) from exc


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="budget")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Plans of the 地域医療介護総合確保基金（介護従事者の確保分）: generate the prefectures'
    workbooks, ingest and validate what they send back, aggregate, and track the year.

    \b
    Exit codes: 0 ok, 1 invalid input found, 2 usage error.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main() -> None:
    """The console entry point (``budget``, ``python -m budget``).

    On the way out it freezes the garbage collector's heap: the interpreter's final
    collection otherwise walks every object pandas and pandera created, which costs
    0.2–0.25 s per command here, longer than most commands' own work. Everything the
    command wrote is closed by then (stores and workbooks close in ``with`` blocks).
    Tests call ``cli`` directly and keep normal collection.
    """
    try:
        cli(prog_name="budget")
    finally:
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
