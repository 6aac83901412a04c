"""Structured logs and metrics (Powertools Logger and Metrics, EMF)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

SERVICE = "apigw-authorizers"
NAMESPACE = "ApigwAuthorizers"


def make_logger() -> Logger:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE))
    # The toolkit's own module loggers (key fetches, skipped keys) log as JSON too.
    copy_config_to_registered_loggers(source_logger=logger, include={"authorizers"})
    return logger


def make_metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics(
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE),
        service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE),
    )
