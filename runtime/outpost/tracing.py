"""One X-Ray tracer for every handler (Powertools Tracer): each invocation's segment, with
its cold start and its AWS calls as subsegments. Outside Lambda (tests, local mode, the
worker) Powertools leaves it disabled."""

from __future__ import annotations

from aws_lambda_powertools import Tracer

tracer = Tracer(service="outpost")
