"""The self-contained HTML report (see pipelines.report.html)."""

from pipelines.report.html import Report, ReportError, build, render, write_report

__all__ = ["Report", "ReportError", "build", "render", "write_report"]
