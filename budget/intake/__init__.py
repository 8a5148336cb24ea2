"""Received bytes → verdict. ``check`` identifies a workbook (its form and stage from
``_meta``, year, prefecture, menu), checks its structure against the form and its values by
the form's pandera rules, and returns a ``FileReport`` of findings at the cell; ``batch`` runs
a folder of files (``workers`` in parallel) into the store; ``annotate`` writes the return
copies, the sender's workbook with every finding marked."""
