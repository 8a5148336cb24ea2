"""Pure pandas over what the store holds: no I/O but reading through the ``Store`` interface.
``summary`` turns a year's current plans into the summary tables (大項目, 中項目, 事業, 担当課,
都道府県, the matrices, the tidy table); ``status`` says where each of the 47 prefectures
stands for a year and stage; ``track`` follows a fund year through its stages (要望 → 内示 →
計画 → 変更 → 実績, 執行率, flags); ``diff`` compares two submissions cell by cell.
``budget.render`` writes what these return."""
