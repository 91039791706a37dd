"""The CLI's edge: every failure becomes one line on stderr and an exit code."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from typing import NoReturn


class CommandError(Exception):
    """A failure the user can act on: one line on stderr and an exit code."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class OneLineArgumentParser(argparse.ArgumentParser):
    """A usage mistake is one line too (argparse would print the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"picgraph: {message} (see `{self.prog} --help`)\n")


def report_failure(
    error: BaseException, message: str, exit_code: int, *, show_traceback: bool
) -> int:
    if show_traceback:
        traceback.print_exception(error)
    print(f"picgraph: {message}", file=sys.stderr)
    return exit_code


class _TerminalFormatter(logging.Formatter):
    """`picgraph: warning: ...`, one line; tracebacks only with --traceback."""

    def __init__(self, *, show_tracebacks: bool) -> None:
        super().__init__()
        self._show_tracebacks = show_tracebacks

    def format(self, record: logging.LogRecord) -> str:
        line = f"picgraph: {record.levelname.lower()}: {record.getMessage()}"
        if self._show_tracebacks and record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def log_to_terminal(*, show_tracebacks: bool) -> None:
    """Warnings as single lines. An error logged with its exception is left to the CLI edge,
    which reports that exception in one line (with --traceback: everything).

    Only where logging is not configured yet (a fresh `picgraph` process): a host that
    calls main() with its own handlers keeps them as they are.
    """
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter(show_tracebacks=show_tracebacks))
    if not show_tracebacks:
        handler.addFilter(lambda record: record.exc_info is None)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def describe(error: Exception) -> str:
    """One line for an AWS or unexpected error (botocore's messages are already one line)."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    first_line = (str(error).strip().splitlines() or [""])[0]
    if isinstance(error, NoCredentialsError):
        return (
            "no AWS credentials found: configure them (an emulator accepts any, e.g. "
            "AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test)"
        )
    if isinstance(error, NoRegionError):
        return "no AWS region: set AWS_REGION"
    if isinstance(error, EndpointConnectionError):
        return f"cannot reach AWS: {first_line}"
    if isinstance(error, ClientError):
        return f"AWS refused the request: {first_line}"
    return f"unexpected error: {type(error).__name__}: {first_line} (--traceback shows where)"
