"""The ``budget`` command line: options, progress and printing; the work is in the library.

Exit codes: 0 ok; 1 invalid input found (a rejected workbook, a missing prefecture under
``--strict``) or an operation that could not be done; 2 usage error (a bad option, an
unknown prefecture or year).

Commands live in ``budget.commands.<name>`` and are imported only when run, so that
``budget --help`` does not pay for pandas, pandera and openpyxl.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import sys

import click

from budget import __version__
from budget.commands.japanese import JapaneseGroup, japanise
from budget.errors import BudgetError, UsageError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: command name → (module in budget.commands, one-line help shown by ``budget --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "menu": ("menu", "年度のメニュー（補助対象の事業）を表示します。"),
    "generate": ("generate", "都道府県ごとの計画様式（Excel）を作成します。"),
    "validate": ("validate", "返送された計画を検査します（保存はしません）。"),
    "ingest": ("ingest", "フォルダ内の計画をすべて検査し、保存します。"),
    "status": ("status", "都道府県ごとの提出状況を表示します。"),
    "aggregate": ("aggregate", "受理した計画の集計表を作成します。"),
    "track": ("track", "要望・内示・計画・実績を追う執行管理表を作成します。"),
    "compare": ("compare", "年度ごとの計画を比べる年度比較表を作成します。"),
    "diff": ("diff", "都道府県の 2 つの提出の違いをセルごとに表示します。"),
    "demo": ("demo", "同梱のサンプルデータで一連の作業を試します。"),
    "db": ("db", "データベースを作成・移行・コピーします（budget db --help）。"),
}


class LazyGroup(JapaneseGroup, click.Group):
    """A group whose subcommands are imported on first use. Every word Click prints (help,
    errors) is Japanese for every subcommand, whatever class it was given
    (``budget.commands.japanese``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"budget.commands.{COMMANDS[name][0]}")
        return japanise(getattr(module, name))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help without importing every command module.
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("コマンド"):
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
@click.version_option(__version__, "-V", "--version", prog_name="budget",
                      message="%(prog)s バージョン %(version)s",
                      help="バージョンを表示して終了します。")
@click.option("--debug", is_flag=True, help="エラー時にトレースバックを表示します（開発者向け）。")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """地域医療介護総合確保基金（介護従事者の確保分）の計画を扱います。

    \b
    都道府県の計画様式を作成し、返送された計画を検査・保存し、集計して、
    年度の提出状況を管理します。

    \b
    終了コード: 0 正常、1 不正な入力あり、2 使い方の誤り
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def tolerant_output() -> None:
    """Make stdout and stderr replace, with ``?``, a character their encoding lacks instead of
    raising: a Japanese Windows console or a redirected output is cp932, which has no
    ``〜`` (U+301C), ``−`` (U+2212), ``✓``, emoji…, and a file name may carry anything. The
    streams keep their encoding; a missing stream (``pythonw``) is left alone."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="replace")


def main() -> None:
    """The console entry point (``budget``, ``python -m budget``).

    On the way out it freezes the garbage collector's heap: the interpreter's final
    collection otherwise walks every object pandas and pandera created, which costs
    0.2–0.25 s per command here, longer than most commands' own work. Everything the
    command wrote is closed by then (stores and workbooks close in ``with`` blocks).
    Tests call ``cli`` directly and keep normal collection.

    Output never fails on a character the console cannot show (``tolerant_output``).
    """
    tolerant_output()
    try:
        cli(prog_name="budget")
    finally:
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
