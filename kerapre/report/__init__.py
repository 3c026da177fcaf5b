"""Result tables and plots: CSV for tools, PNG for people, Markdown for docs."""

from kerapre.report.tables import bar_chart, summarise, write_csv, write_summary_csv

__all__ = ["bar_chart", "summarise", "write_csv", "write_summary_csv"]
