"""botocore's DEBUG logs carry whole request and response bodies: a secret's value among them.
Code that handles tenants' secrets holds those loggers at INFO, whatever the process's level."""

from __future__ import annotations

import logging

WIRE_LOGGERS = ("botocore", "boto3", "urllib3")


def keep_bodies_out_of_logs() -> None:
    for name in WIRE_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, logging.INFO))
