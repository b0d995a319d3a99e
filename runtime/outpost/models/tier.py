"""The tier table: the one place that says what each subscription tier may do."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Annotated

from pydantic import Field

from outpost.models.common import DomainModel


class Tier(StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class Agent(StrEnum):
    """A concrete agent CLI that a run executes."""

    CLAUDE = "claude"
    CODEX = "codex"
    GEMINI = "gemini"
    AIDER = "aider"
    GROK = "grok"


class TierLimits(DomainModel):
    daily_requests: Annotated[int, Field(ge=1)] | None = Field(
        description="Task submissions per UTC day; None means unlimited."
    )
    concurrency: Annotated[int, Field(ge=1)] = Field(description="Runs executing at once.")
    agents: frozenset[Agent] = Field(description="Agents the tier may run.")
    priority: Annotated[int, Field(ge=0)] = Field(
        description="Queue priority; workers poll higher numbers first (without starving lower)."
    )
    requests_per_second: Annotated[float, Field(gt=0)] = Field(
        description="Steady API request rate per tenant (all its keys together)."
    )
    burst: Annotated[int, Field(ge=1)] = Field(description="Requests a tenant may send at once.")

    def allows(self, agent: Agent) -> bool:
        return agent in self.agents


ALL_AGENTS = frozenset(Agent)

TIERS: MappingProxyType[Tier, TierLimits] = MappingProxyType(
    {
        Tier.FREE: TierLimits(
            daily_requests=10,
            concurrency=1,
            agents=frozenset({Agent.CLAUDE}),
            priority=0,
            requests_per_second=2,
            burst=5,
        ),
        Tier.PRO: TierLimits(
            daily_requests=100,
            concurrency=3,
            agents=ALL_AGENTS,
            priority=1,
            requests_per_second=10,
            burst=20,
        ),
        Tier.ENTERPRISE: TierLimits(
            daily_requests=None,
            concurrency=10,
            agents=ALL_AGENTS,
            priority=2,
            requests_per_second=50,
            burst=100,
        ),
    }
)
