"""The store: every submission, its findings, its original bytes and its values.

Nothing outside this package speaks SQL or imports a database driver.
"""

from budget.store.sqlite import *  # noqa: F401,F403
from budget.store.sqlite import PLAN_STAGE, RejectedSubmission, Saved, Store, utc_now  # noqa: F401
