"""Outputs: what the tool shows or writes for people, from findings, runs and summary frames.
``text`` renders the terminal tables and the JSON/CSV of ``validate``, ``ingest`` and
``status``; ``run_report`` writes the Excel report of one ingest run (取込結果);
``summary_workbook`` writes the annual summary workbook (集計表); ``tidy`` the year's tidy
table as CSV or JSON; ``outputs`` writes every file of one ``budget aggregate`` run atomically
(``Written``, ``write_bytes_atomically``; ``budget.reports.write_reports`` puts them together). Every workbook cell goes through
``budget.xlsx.writer`` and every width through ``budget.textwidth``; nothing here reads a
store or a submission.
"""
