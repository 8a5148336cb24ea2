"""Click in Japanese: every word Click itself would show a user, for every command.

Click writes its own messages, usage line and metavars in English. Here, once for every
command (those added later included, whatever class their author gave them):

* ``JapaneseHelp`` (the commands' and groups' mixin) writes the help page in Japanese: the
  usage line (``使い方: budget ingest [オプション] [フォルダ]``), the option list
  (``[既定: R5]``, ``0 以上``), and gives each parameter's type Japanese metavars and
  messages (``japanese_type``) as the command's parameters are read;
* a group built on ``JapaneseGroup`` makes every subcommand it returns Japanese
  (``japanise``), and, as the command that is run, prints every error Click raises in
  Japanese (``error_text``): 「エラー: オプション「--bogus」はありません。」, with the usage line
  and 「budget generate --help」 as the hint. Exit codes stay Click's: 2 for a usage error.

Anything printed passes ``budget.render.terminal.shown``: an option value with control
characters is shown escaped.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from typing import Any

import click

HELP_OPTION_HELP = "このヘルプを表示して終了します。"
OPTIONS_METAVAR = "[オプション]"
SUBCOMMAND_METAVAR = "コマンド [引数]..."

def is_japanese(text: str) -> bool:
    """True when ``text`` has a kana or kanji (a message already written for the user)."""
    return any("\u3041" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


# --- Parameter types ---------------------------------------------------------------------


def _path_kind(t: click.Path) -> str:
    if t.dir_okay and not t.file_okay:
        return "フォルダ"
    if t.file_okay and not t.dir_okay:
        return "ファイル"
    return "パス"


def _path_message(t: click.Path, value: Any) -> str:
    name = os.fsdecode(value) if isinstance(value, (str, bytes, os.PathLike)) else str(value)
    kind = _path_kind(t)
    try:
        mode = os.stat(value).st_mode
    except (OSError, ValueError, TypeError):
        return f"{kind}「{name}」がありません。"
    if stat.S_ISDIR(mode) and not t.dir_okay:
        return f"「{name}」はフォルダです。ファイルを指定してください。"
    if not stat.S_ISDIR(mode) and not t.file_okay:
        return f"「{name}」はフォルダではありません。フォルダを指定してください。"
    if t.readable and not os.access(value, os.R_OK):
        return f"{kind}「{name}」を読み取る権限がありません。"
    if t.writable and not os.access(value, os.W_OK):
        return f"{kind}「{name}」に書き込む権限がありません。"
    return f"{kind}「{name}」は指定できません。"


def _range_text(t: Any) -> str:
    """``0 以上``, ``1 以上 10 以下``, ``10 未満``… for an IntRange or FloatRange."""
    low = "" if t.min is None else f"{t.min} {'より大きい' if t.min_open else '以上'}"
    high = "" if t.max is None else f"{t.max} {'未満' if t.max_open else '以下'}"
    return " ".join(p for p in (low, high) if p)


def _number_message(t: Any, value: Any) -> str:
    integer = isinstance(t, (click.types.IntParamType, click.IntRange))
    what = "整数" if integer else "数値"
    try:
        float(value) if not integer else int(value)
    except (TypeError, ValueError):
        return f"「{value}」は{what}ではありません。{what}を指定してください。"
    if isinstance(t, (click.IntRange, click.FloatRange)):
        return f"{value} は指定できる範囲外です。{_range_text(t)}の{what}を指定してください。"
    return f"「{value}」は指定できません。"


def type_message(t: click.ParamType, value: Any) -> str:
    """The Japanese message for ``value`` refused by the parameter type ``t``."""
    if isinstance(t, click.Path):
        return _path_message(t, value)
    if isinstance(t, click.Choice):
        choices = "、".join(str(c) for c in t.choices)
        return f"「{value}」は指定できません。{choices} のいずれかを指定してください。"
    if isinstance(t, (click.types.IntParamType, click.types.FloatParamType)):
        return _number_message(t, value)
    if isinstance(t, click.types.BoolParamType):
        return f"「{value}」は指定できません。true または false を指定してください。"
    return f"「{value}」は指定できません。"


#: Click's types whose refusals are English sentences (which may quote Japanese choices).
_CLICK_WORDED = (click.Path, click.Choice, click.types.IntParamType, click.types.FloatParamType,
                 click.types.BoolParamType, click.types.UUIDParameterType, click.DateTime)


class JapaneseType:
    """Mixin put in front of a Click parameter type (``japanese_type``): Japanese metavar,
    range text and refusal messages; everything else is the type's own."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        try:
            return super().convert(value, param, ctx)  # type: ignore[misc]
        except click.BadParameter as exc:
            if not isinstance(self, _CLICK_WORDED) and is_japanese(exc.message):
                raise  # a type (or function) of ours: its message is written for the user
            raise click.BadParameter(type_message(self, value),  # type: ignore[arg-type]
                                     ctx=ctx, param=param) from exc

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str | None:
        if isinstance(self, click.Choice):
            return super().get_metavar(param, ctx)  # type: ignore[misc]
        if isinstance(self, click.Path):
            return _path_kind(self)
        if isinstance(self, (click.types.IntParamType, click.IntRange)):
            return "整数"
        if isinstance(self, (click.types.FloatParamType, click.FloatRange)):
            return "数値"
        return "値"

    def _describe_range(self) -> str:
        return _range_text(self)


_TYPE_CLASSES: dict[type, type] = {}


def japanese_type(t: click.ParamType) -> click.ParamType:
    """A copy of ``t`` that speaks Japanese (still an instance of ``t``'s class)."""
    if isinstance(t, JapaneseType):
        return t
    cls = type(t)
    ja = _TYPE_CLASSES.get(cls)
    if ja is None:
        ja = _TYPE_CLASSES[cls] = type(f"Japanese{cls.__name__}", (JapaneseType, cls), {})
    new: click.ParamType = object.__new__(ja)  # a copy: ``t`` may be shared (click.INT)
    new.__dict__.update(t.__dict__)
    return new


def japanise_param(param: click.Parameter) -> click.Parameter:
    """Give ``param`` a Japanese type (in place; idempotent)."""
    param.type = japanese_type(param.type)
    return param


# --- Commands and groups -------------------------------------------------------------------


class JapaneseFormatter(click.HelpFormatter):
    """Click's help formatter, measuring terms by display width (a Japanese metavar such as
    ``--db ファイル`` is two columns a character), so the option list stays aligned."""

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        from click.formatting import wrap_text

        from budget.textwidth import display_width

        rows = list(rows)
        first_col = min(max((display_width(r[0]) for r in rows), default=0), col_max)
        first_col += col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if display_width(first) <= first_col - col_spacing:
                self.write(" " * (first_col - display_width(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            text_width = max(self.width - first_col - 2, 10)
            lines = wrap_text(second, text_width, preserve_paragraphs=True).splitlines() or [""]
            self.write(f"{lines[0]}\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")


class JapaneseContext(click.Context):
    """The context of a Japanese command: its help is laid out by ``JapaneseFormatter``."""

    formatter_class = JapaneseFormatter


def _japanese_help_extra(help_: str) -> str:
    """Click's ``[default: R5; required]`` tail of an option's help, in Japanese."""
    text, sep, extra = help_.rpartition("[")
    if not (sep and extra.endswith("]")):
        return help_
    extra = (extra.replace("default: ", "既定: ").replace("env var: ", "環境変数: ")
             .replace("required", "必須"))
    return text + sep + extra


class JapaneseHelp:
    """Mixin for Click commands: the help page's own words (usage line, the options
    heading, ``[default: …]``, metavars, the ``--help`` option) in Japanese, like the rest of
    it, and parameter types that refuse a value in Japanese."""

    context_class: type[click.Context] = JapaneseContext

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_HELP
        return option

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        # Every path to a parameter (parsing, help, usage, completion) goes through here.
        return [japanise_param(p) for p in super().get_params(ctx)]  # type: ignore[misc]

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        pieces = [OPTIONS_METAVAR] if self.options_metavar else []  # type: ignore[attr-defined]
        for param in self.get_params(ctx):
            pieces.extend(param.get_usage_pieces(ctx))
        if isinstance(self, click.Group):
            pieces.append(SUBCOMMAND_METAVAR)
        return pieces

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix="使い方: ")

    def format_option_list(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None or isinstance(param, click.Argument):
                continue
            name, help_ = record
            rows.append((name, _japanese_help_extra(help_)))
        if rows:
            with formatter.section("オプション"):
                formatter.write_dl(rows)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.format_option_list(ctx, formatter)
        if isinstance(self, click.Group):
            self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):  # type: ignore[attr-defined]
            command = self.get_command(ctx, name)  # type: ignore[attr-defined]
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width)))
        if rows:
            with formatter.section("コマンド"):
                formatter.write_dl(rows)


class JapaneseGroup(JapaneseHelp):
    """Mixin for Click groups: every subcommand returned is made Japanese (``japanise``),
    and, when the group is the program (``main``), Click's errors are printed in Japanese."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return japanise(super().get_command(ctx, name))  # type: ignore[misc]

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var,  # type: ignore[misc]
                                standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var,  # type: ignore[misc]
                              standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("中止しました。", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            click.echo(error_text(exc), err=True)
            sys.exit(exc.exit_code)
        sys.exit(rv if isinstance(rv, int) else 0)


_COMMAND_CLASSES: dict[type, type] = {}


def japanise(command: click.Command | None) -> click.Command | None:
    """``command`` made Japanese in place (its class gets the ``JapaneseHelp`` or
    ``JapaneseGroup`` mixin in front); a command that already is, or None, is returned."""
    if command is None or isinstance(command, JapaneseHelp):
        return command
    cls = type(command)
    ja = _COMMAND_CLASSES.get(cls)
    if ja is None:
        mixin = JapaneseGroup if isinstance(command, click.Group) else JapaneseHelp
        ja = _COMMAND_CLASSES[cls] = type(f"Japanese{cls.__name__}", (mixin, cls), {})
    command.__class__ = ja
    return command


# --- Errors ---------------------------------------------------------------------------------


def _param_hint(param: click.Parameter | None, ctx: click.Context | None) -> str:
    if param is None:
        return "指定"
    if isinstance(param, click.Argument):
        ctx = ctx or click.Context(click.Command(None))
        metavar = param.make_metavar(ctx).strip("[]").removesuffix("...").strip("[]")
        return f"引数 {metavar}"
    return "オプション " + " / ".join([*param.opts, *param.secondary_opts])


def _possibilities(names: list[str] | None) -> str:
    return f"（候補: {'、'.join(names)}）" if names else ""




def error_message(exc: click.ClickException) -> str:
    """Click's error ``exc`` as a Japanese sentence (a message already Japanese, as the
    library's errors are, is kept)."""
    ctx = getattr(exc, "ctx", None)
    message = exc.message
    if isinstance(exc, click.NoSuchOption):
        return f"オプション「{exc.option_name}」はありません。{_possibilities(exc.possibilities)}"
    if isinstance(exc, click.exceptions.NoSuchCommand):
        names = exc.possibilities
        if not names and ctx is not None and isinstance(ctx.command, click.Group):
            import difflib

            names = difflib.get_close_matches(exc.command_name, ctx.command.list_commands(ctx))
        if not names and ctx is not None and isinstance(ctx.command, click.Group):
            names = ctx.command.list_commands(ctx)
        return f"コマンド「{exc.command_name}」はありません。{_possibilities(names)}"
    if isinstance(exc, click.MissingParameter):
        return f"{_param_hint(exc.param, ctx)} を指定してください。"
    if isinstance(exc, click.BadParameter):
        detail = message if is_japanese(message) else "値が正しくありません。"
        return f"{_param_hint(exc.param, ctx)} の指定が正しくありません: {detail}"
    if isinstance(exc, click.BadOptionUsage):
        if is_japanese(message):
            return message
        if "does not take a value" in message:
            return f"オプション「{exc.option_name}」には値を指定できません。"
        if "requires" in message:
            return f"オプション「{exc.option_name}」には値を指定してください。"
        return f"オプション「{exc.option_name}」の使い方が正しくありません。"
    if isinstance(exc, click.FileError):
        return f"ファイル「{exc.ui_filename}」を開けません。"
    if is_japanese(message):
        return message
    extra = re.match(r"^Got unexpected extra arguments? \((?P<args>.*)\)$", message, re.S)
    if extra:
        return f"余分な引数があります: {extra.group('args')}"
    if message == "Missing command.":
        return "コマンドを指定してください。"
    if isinstance(exc, click.UsageError):
        return "コマンドの使い方が正しくありません。"
    return "処理を完了できませんでした。"


def error_text(exc: click.ClickException) -> str:
    """What is printed for ``exc``: for a usage error the usage line and the help hint,
    then 「エラー: …」; control characters escaped."""
    from budget.render.terminal import shown

    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        return shown(exc.format_message(), lines=True)  # the help page itself
    lines = []
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        lines.append(ctx.get_usage())
        if ctx.command.get_help_option(ctx) is not None:
            lines.append(f"「{ctx.command_path} --help」で使い方を表示できます。")
        lines.append("")
    lines.append(f"エラー: {error_message(exc)}")
    return shown("\n".join(lines), lines=True)
