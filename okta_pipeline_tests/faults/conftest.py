"""The fault suite's table, printed at the end of the session."""

from __future__ import annotations

import pytest

from okta_pipeline_tests.faults.outcome import ROWS, render


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ROWS:
        terminalreporter.write_sep("=", "fault suite: events lost, doubled or over budget")
        terminalreporter.write_line(render(ROWS))
