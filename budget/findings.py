"""Findings: what validation says about a submitted workbook, as data.

A finding has a stable English ``code`` (kebab-case, never renamed: stores and scripts key on
it), a severity, where it is (file, sheet, cell), the menu leaf it concerns, the value seen and
a Japanese message for the prefecture's clerk. A file with any error is rejected; warnings
alone accept it.

``CATALOG`` is the one list of codes: each with its severity, message template and a short
Japanese title (what a clerk reads in tables instead of the code, which stays in JSON). Every
error's message ends with what to do. Templates use ``str.format`` fields; ``location`` and
``leaf`` are filled in by ``Finding.message``'s caller (``make``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"

#: Japanese labels, the one place they are spelled.
SEVERITY_JA: dict[str, str] = {ERROR: "エラー", WARNING: "警告"}
STATUS_JA: dict[str, str] = {"accepted": "受理", "rejected": "差戻し", "missing": "未提出"}


@dataclass(frozen=True)
class Kind:
    severity: Severity
    template: str  # Japanese, str.format fields from the finding's params
    title: str  # short Japanese title for tables


CATALOG: dict[str, Kind] = {
    # --- the file as a container (read) -------------------------------------------------
    "empty-file": Kind(ERROR, "ファイルが空です（0 バイト）。保存し直して再提出してください。", "空のファイル"),
    "not-a-workbook": Kind(
        ERROR, "Excel ブック（.xlsx）ではありません（{detail}）。配布した様式に入力し、"
        "Excel ブック形式で保存してください。", "Excel ブックではない"),
    "corrupt-workbook": Kind(
        ERROR, "ファイルが壊れているため読み込めません（{detail}）。送信途中で欠けた可能性があります。"
        "元のファイルを保存し直して再提出してください。", "壊れたファイル"),
    "encrypted-workbook": Kind(
        ERROR, "パスワードで保護（暗号化）されたブックは読み込めません。"
        "「ファイル」→「情報」→「ブックの保護」でパスワードを解除して再提出してください。",
        "パスワード付き"),
    "legacy-xls": Kind(
        ERROR, "旧形式の Excel ファイル（.xls）です。配布した .xlsx の様式に入力して提出してください。",
        "旧形式 .xls"),
    "macro-workbook": Kind(
        ERROR, "マクロを含むブックは受け付けられません（{detail}）。配布した様式（マクロなし .xlsx）に"
        "入力して提出してください。", "マクロ付き"),
    "external-links": Kind(
        ERROR, "他のファイルへの外部リンクが含まれています（{detail}）。外部リンクを解除するか、"
        "値として貼り付けてから再提出してください。", "外部リンク"),
    "oversized-workbook": Kind(
        ERROR, "ファイルの内容が大きすぎるため読み込みを中止しました（{detail}）。"
        "配布した様式以外のデータが含まれていないか確認してください。", "過大なファイル"),
    "unsafe-xml": Kind(
        ERROR, "安全でない XML（DTD・エンティティ宣言）が含まれているため読み込めません。"
        "配布した様式に入力し直して提出してください。", "不正な XML"),
    "internal-error": Kind(
        ERROR, "このファイルの確認中に予期しないエラーが発生しました（{detail}）。ファイルの誤りとは"
        "限りません。厚生労働省の担当者に連絡してください。", "確認中のエラー"),
    "unreadable-file": Kind(
        ERROR, "ファイルを読み取れません（{detail}）。ファイルが開かれたままでないか、読み取りの権限が"
        "あるかを確認して取り込み直すか、提出元に再送を依頼してください。", "読み取れないファイル"),
    "not-a-budget-workbook": Kind(
        ERROR, "配布した計画様式ではありません（{detail}）。配布した様式に入力して提出してください。",
        "様式ではない"),
    # --- identity and structure (read/validate) -----------------------------------------
    "wrong-fiscal-year": Kind(
        ERROR, "{expected}の様式ではありません（このファイルは {found} の様式です）。"
        "{expected}の様式に入力し直してください。", "年度違い"),
    "prefecture-mismatch": Kind(
        ERROR, "都道府県が一致しません: {detail}。自団体の様式か確認してください。", "都道府県の不一致"),
    "unknown-prefecture": Kind(
        ERROR, "様式に記録された都道府県コード「{value}」が不明です。配布した様式に入力し直してください。",
        "不明な都道府県"),
    "no-menu-for-year": Kind(
        ERROR, "{found}のメニュー（事業一覧）が登録されていないため、この様式を確認できません"
        "（登録済み: {known}）。年度が正しいか確認してください。", "メニューのない年度"),
    "wrong-form": Kind(
        ERROR, "様式の種類が違います（このファイルは「{found}」の様式、求められているのは"
        "「{expected}」の様式です）。配布した「{expected}」の様式に入力して提出してください。",
        "様式の種類違い"),
    "old-template-version": Kind(
        ERROR, "様式の版が違います（このファイルは版 {found}、現在の様式は版 {expected}）。"
        "現在の様式に入力し直してください。", "様式の版違い"),
    "menu-mismatch": Kind(
        ERROR, "様式のメニュー（事業一覧）が現在のメニューと異なります。"
        "最新の様式に入力し直してください。", "メニューの不一致"),
    "missing-sheet": Kind(
        ERROR, "シート「{sheet_name}」がありません。シートを削除・名前変更せず、配布した様式に"
        "入力し直してください。", "シートがない"),
    "missing-row": Kind(
        ERROR, "{leaf} の行がありません（削除されています）。行を削除せず、"
        "配布した様式に入力し直してください。", "行の削除"),
    "rows-shifted": Kind(
        ERROR, "表の見出しが {found} 行目にあります（本来は {expected} 行目）。表より上で挿入・削除した"
        "行を元に戻すか、配布した様式に入力し直してください。", "表の位置ずれ"),
    "duplicate-row": Kind(
        ERROR, "{leaf} の行が重複しています（{location}）。重複している行を削除してください。",
        "行の重複"),
    "reordered-rows": Kind(
        ERROR, "事業の行の順序が変更されています（{location} に {leaf}）。行を元の順序に戻すか、"
        "配布した様式に入力し直してください。", "行の並べ替え"),
    "inserted-row": Kind(
        ERROR, "様式にない行が挿入されています（{location}）。挿入した行を削除してください。",
        "行の挿入"),
    "locked-cell-changed": Kind(
        ERROR, "変更できないセルが書き換えられています（{location}: 「{value}」、本来は「{expected}」）。"
        "元の内容に戻してください。", "保護セルの変更"),
    "formula-changed": Kind(
        ERROR, "計算式のセルが書き換えられています（{location}: 「{value}」、本来は「{expected}」）。"
        "計算式を元に戻してください（計算式のセルには入力しません）。", "計算式の変更"),
    "unexpected-cell": Kind(
        ERROR, "様式の入力欄ではないセル {location} に「{value}」が入力されています。"
        "このセルの内容を削除してください{more}。", "様式外への入力"),
    "sheet-unprotected": Kind(
        WARNING, "シート「{sheet_name}」の保護が解除されています。入力欄以外は変更しないでください。",
        "保護の解除"),
    # --- typed values (normalisation: warnings record every change) ---------------------
    "text-number": Kind(
        WARNING, "{location} の「{value}」は文字として入力されていたため、数値 {normalised} として"
        "読み取りました。", "文字の数値"),
    "fullwidth-number": Kind(
        WARNING, "{location} の全角数字「{value}」を半角の {normalised} として読み取りました。",
        "全角数字"),
    "surrounding-space": Kind(
        WARNING, "{location} の前後の空白を取り除きました（「{value}」）。", "前後の空白"),
    # An error, not a warning: a formula's stored result is never trusted, so the cell would
    # be read as blank and an amount silently lost.
    "formula-in-input": Kind(
        ERROR, "{location} に計算式「{value}」が入力されています。計算式の結果は読み取らないため、"
        "値を直接入力してください。", "入力欄の計算式"),
    "leading-formula-character": Kind(
        WARNING, "{location} の文字「{value}」は =、+、-、@ などで始まるため、計算式にならないよう"
        "文字として保存しました。", "式に見える文字"),
    # A number stored with a date format: what Excel (and LibreOffice in a General cell)
    # makes of 3/1 or 2023/4/1. Its serial number (46082) is never read as an amount or text.
    "date-in-amount": Kind(
        ERROR, "金額の欄に日付が入力されています（{location}（{leaf}）: 日付のシリアル値 {value}）。"
        "日付は金額として読み取りません。千円単位の整数で入力し直してください"
        "（セルの表示形式が日付に変わっている場合は、数値に戻してから入力してください）。",
        "金額欄の日付"),
    "date-in-text": Kind(
        WARNING, "{location} の入力は日付（シリアル値 {value}）として保存されているため、"
        "入力した文字として読み取れず、空欄として扱いました。セルの表示形式を「文字列」にするか、"
        "先頭に ' を付けて、文字として入力し直してください。", "文字欄の日付"),
    # --- amounts (rules of domain.md §2) ------------------------------------------------
    "not-a-number": Kind(
        ERROR, "{location}（{leaf}）の「{value}」は数値として読み取れません。千円単位の整数で"
        "入力してください。", "数値でない"),
    "negative-amount": Kind(
        ERROR, "{location}（{leaf}）の金額 {value} が負の値です。金額は0以上で入力してください"
        "（▲・△・－はマイナスとして扱われます）。", "負の金額"),
    "fractional-amount": Kind(
        ERROR, "{location}（{leaf}）の金額 {value} に小数があります。金額は千円単位の整数です"
        "（円単位で入力していないか確認してください）。", "小数の金額"),
    "amount-too-large": Kind(
        ERROR, "{location}（{leaf}）の金額 {value} が大きすぎます。円単位で入力していないか確認し、"
        "千円単位で入力し直してください。", "過大な金額"),
    "national-share": Kind(
        WARNING, "{location}（{leaf}）: 国 (A) {national} は 基金計 (A+B) {fund} の3分の2"
        "（{expected}）から {diff} 千円ずれています（許容 {tolerance} 千円）。確認してください。",
        "国庫負担割合"),
    "public-private-sum": Kind(
        ERROR, "{location}（{leaf}）: 公 {public} + 民 {private} = {sum} が 国 (A) {national} と"
        "一致しません。{fix}", "公＋民≠国"),
    "commissioned-over-private": Kind(
        ERROR, "{location}（{leaf}）: うち受託事業等 {commissioned} が 民 {private} を超えています。"
        "うち受託事業等 は 民 のうち委託等で実施する額です。民 以下の額を入力してください。",
        "受託＞民"),
    "text-too-long": Kind(
        ERROR, "{location} の文字数が多すぎます（{length} 文字、上限 {max_length} 文字）。"
        "{max_length} 文字以内に短くしてください。", "文字数超過"),
    "missing-contact": Kind(
        WARNING, "担当者の連絡先（{location}）が未入力です。", "連絡先の未入力"),
    "empty-plan": Kind(
        WARNING, "金額が1件も入力されていません。計画がない場合はその旨を連絡してください。",
        "金額の入力なし"),
    # Plausibility (``budget.plausibility``): warnings, a real large figure is accepted.
    "amount-implausible": Kind(
        WARNING, "{location}（{leaf}）: {column} {total}は、{basis}を超えています。"
        "単位は千円です。円で入力していないか確認してください（円で入力した場合は 1,000 で割った"
        "千円単位の額に直してください。例: 3,000,000円 → 3000）。正しい額であれば、このままで"
        "受け付けます。", "桁違いの金額の疑い"),
    "plan-total-implausible": Kind(
        WARNING, "{location}: この{stage}の {column} の合計 {total}は、{basis}を超えています。"
        "単位は千円です。金額を円で入力していないか確認してください（円で入力した場合は"
        " 1,000 で割った千円単位の額に直してください）。正しい額であれば、このままで受け付けます。",
        "桁違いの計画合計の疑い"),
    # --- added for issue 12 (what arrives in the inbox) ----------------------------------
    "not-a-regular-file": Kind(
        ERROR, "このファイルは読み込みません（{detail}）。提出されたファイルそのものを"
        "指定してください。", "通常のファイルではない"),
    "control-character": Kind(
        ERROR, "{location} の文字に制御文字（{characters}）が含まれています。"
        "セルの内容を消して、文字だけを入力し直してください。", "制御文字"),
    "merged-cells": Kind(
        ERROR, "様式のセルが結合されています（{range}）。結合を解除し、"
        "配布した様式のとおりに入力し直してください。", "セルの結合"),
    # --- the stages of the year (要望, 内示, 変更, 実績) and the checks across them ----------
    "reference-changed": Kind(
        ERROR, "{location}（{leaf}）の参照欄「{column}」が登録済みの値から書き換えられています"
        "（ファイル: {value}、登録済み: {expected}）。参照欄は変更できません。配布した様式の値に"
        "戻して再提出してください。", "参照欄の変更"),
    "reference-source-missing": Kind(
        ERROR, "参照欄の元になった登録済みの提出を確認できません（{detail}）。"
        "様式を作成し直して提出してください。", "参照元の不明"),
    "plan-over-allocation": Kind(
        WARNING, "{location}: 基金 (A+B) の合計 {fund} 千円が、内示額（{rounds} 回分の合計）"
        "{allocated} 千円を {over} 千円超えています。確認してください。", "計画＞内示"),
    "revision-without-reason": Kind(
        WARNING, "{location}（{leaf}）: 計画から金額を変更した行に変更理由が入力されていません。"
        "変更理由を入力してください。", "変更理由の未入力"),
    "actual-over-plan": Kind(
        WARNING, "{location}（{leaf}）: 執行額 (A+B) {actual} 千円が計画額 (A+B) {plan} 千円を"
        "超えています{rate}。確認してください。", "執行＞計画"),
    "actual-unplanned": Kind(
        WARNING, "{location}（{leaf}）: 計画のない事業に執行額が入力されています（計画外の執行）。"
        "確認してください。", "計画外の執行"),
    "actual-without-plan": Kind(
        ERROR, "{prefecture} の{year}の計画が受理されていないため、実績を登録できません。"
        "先に計画を提出してください。", "計画のない実績"),
    "invalid-choice": Kind(
        ERROR, "{location}（{leaf}）の「{value}」は選択肢にありません。{choices} から選んでください。",
        "選択肢にない値"),
    "allocation-share": Kind(
        WARNING, "{location}（{leaf}）: 国費 (A) {national} は 基金規模 (A+B) {fund} の3分の2"
        "（{expected}）から {diff} 千円ずれています（許容 {tolerance} 千円）。確認してください。",
        "国費の割合"),
}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str  # Japanese, complete (names the location)
    file: str  # file name as received, e.g. "13_東京都_R5_計画.xlsx"
    sheet: str | None = None
    cell: str | None = None  # "J18"
    leaf_code: str | None = None
    leaf_name: str | None = None
    value: str | None = None  # the value seen, as text

    @property
    def location(self) -> str:
        """``"13_東京都.xlsx 計画!J18"`` (as precise as known)."""
        where = self.file
        if self.sheet:
            where += f" {self.sheet}" + (f"!{self.cell}" if self.cell else "")
        return where

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


def make(code: str, *, file: str, sheet: str | None = None, cell: str | None = None,
         leaf_code: str | None = None, leaf_name: str | None = None, value: object = None,
         **params: object) -> Finding:
    """Build a finding of a catalogued kind, rendering its Japanese message."""
    kind = CATALOG[code]
    location = f"{sheet}!{cell}" if sheet and cell else (sheet or file)
    leaf = f"{leaf_code or ''} {leaf_name or ''}".strip()
    text_value = None if value is None else str(value)
    message = kind.template.format(location=location, leaf=leaf, value=text_value, **params)
    return Finding(code, kind.severity, message, file, sheet, cell, leaf_code, leaf_name,
                   text_value)


@dataclass
class FileReport:
    """Everything known about one received file after reading and validating it."""

    file: str  # name as received
    sha256: str
    size: int
    findings: list[Finding] = field(default_factory=list)
    fiscal_year: int | None = None  # from the workbook's metadata, when readable
    prefecture_code: str | None = None
    template_version: str | None = None
    menu_fingerprint: str | None = None
    header: dict[str, str] = field(default_factory=dict)  # contact inputs
    plan: object = None  # pandas DataFrame of normalised leaf rows (``Form.row_columns``)
    form: str | None = None  # the workbook kind (``budget.forms``), when identified
    stage: str | None = None  # the stage of the year it belongs to (計画: "plan"), when identified
    #: when the workbook says it was last saved (``docProps/core.xml``, ISO 8601 UTC), if known
    saved_at: str | None = None
    #: the name a return copy of ours (``…_要修正.xlsx``) was sent back under, when ``file``
    #: is the plan's own name that copy was made from (``budget.intake.returned``)
    received_as: str | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def accepted(self) -> bool:
        return not self.errors and self.plan is not None

    @property
    def status(self) -> str:
        return "accepted" if self.accepted else "rejected"

    def flatten(self, spec: tuple[str, ...] = ("code", "severity", "cell")) -> list[list[object]]:
        """Findings as lists of the named fields (handy in tests)."""
        return [[getattr(f, k) for k in spec] for f in self.findings]
