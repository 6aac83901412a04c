"""Structured logs and metrics (Powertools Logger and Metrics, EMF)."""

from __future__ import annotations

import functools
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

SERVICE = "apigw-authorizers"
NAMESPACE = "ApigwAuthorizers"


class CurrentStdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time of each record.

    Powertools keeps the handler of the first Logger made for a service; a plain
    StreamHandler would keep writing to the stdout of that moment, which the CLI
    (logs to stderr) and test capture replace later.
    """

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        return None  # always the current sys.stdout


def make_logger() -> Logger:
    return _logger(os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE))


@functools.cache
def _logger(service: str) -> Logger:
    # One Logger per service: Powertools configures a service's handler once, so a second
    # Logger given a new handler object would hold a handler without its formatter.
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    logger = Logger(service=service, logger_handler=CurrentStdoutHandler())
    # The toolkit's own module loggers (key fetches, skipped keys) log as JSON too.
    copy_config_to_registered_loggers(source_logger=logger, include={"authorizers"})
    return logger


def make_metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics(
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE),
        service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE),
    )
