"""Reports on repeated runs: one summariser and verdict rule (``summary``), CSV and PNG tables
(``tables``), and the label-efficiency report built from them."""

from kerapre.report.summary import compare_to_scratch, format_comparisons, format_summary, summarise
from kerapre.report.tables import bar_chart, write_csv, write_summary_csv

__all__ = ["bar_chart", "compare_to_scratch", "format_comparisons", "format_summary", "summarise", "write_csv",
           "write_summary_csv"]
