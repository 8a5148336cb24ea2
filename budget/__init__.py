"""budget: the yearly cycle of the 地域医療介護総合確保基金（介護従事者の確保分） plans.

Stages, one module each: ``menu`` and ``prefectures`` (data), ``layout`` (the workbook's
shape), ``generate`` (templates), ``read`` / ``validate`` / ``findings`` (ingest checks),
``store`` (SQLite), ``ingest`` (the batch), ``aggregate`` / ``report`` (summaries).

Importing the package is cheap: heavy libraries (pandas, pandera, openpyxl) are imported
by the stage modules that need them, not here.
"""

__version__ = "0.1.0"
