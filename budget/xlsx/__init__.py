"""SpreadsheetML that knows no form: ``container`` triages received bytes (size, zip, CRC,
DTD-free XML, macros, external links) and returns the parts it inflated and checked with the
sheet-name → part map, shared strings and styles found through the relationships once — the
only unzip; ``reader`` parses those parts into cells (shared formulas, rich and inline
strings, dates by number format) and finds a form's rows by its hidden code column. Nothing
here judges the data: ``budget.intake`` does, against a ``budget.forms.Form``."""
