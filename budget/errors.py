"""Exceptions: things that stop an operation. Findings about a submission are data
(see ``budget.findings``), not exceptions.

Every message is Japanese, because the CLI prints it to the user as it is.
"""


class BudgetError(Exception):
    """Base of every error the CLI reports without a traceback (exit 1)."""


class UsageError(BudgetError):
    """The caller named something that does not exist (exit 2 in the CLI)."""


class UnknownPrefecture(UsageError):
    """A prefecture name or code that is not one of the 47."""


class UnknownFiscalYear(UsageError):
    """A fiscal year that cannot be parsed, or has no menu."""


class MenuError(BudgetError):
    """A menu data file that is missing or fails its schema."""


class StoreError(BudgetError):
    """The store cannot be opened, read or written, or is not a budget store (its message
    says what to do; a database's own error never reaches the user untranslated)."""


class OutputError(BudgetError):
    """An output file cannot be written."""


class UnsafeEnvironment(BudgetError, RuntimeError):
    """The XML parsers of this installation do not refuse entity expansion (defusedxml)."""
