"""The hidden worlds of a round: one job per world with every team's policy on it, so every team
meets the same leads with the same luck (common random numbers). A job is the experiment runner's
`TaskSpec` (plain, picklable data) and runs with its `execute`, so a round's numbers are exactly
what `funnelsim compare` gives for the same scenario, policies, seed and replications, and the app
can ship jobs to a process pool as they are."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario
    from sim.experiment.world_task import TaskResult, TaskSpec

# map_worlds(run, jobs) -> results in any order (e.g. an executor's map, or as_completed)
WorldMap = Callable[[Callable[["TaskSpec"], "TaskResult"], list["TaskSpec"]], Iterable["TaskResult"]]


@dataclass(frozen=True)
class WorldRows:
    """What one world gave: the KPI row of every team (by team name) and the world's identity."""

    replication: int
    seed: int
    world_id: str                      # hash of (scenario, seed, replication): the same for every team
    rows: dict[str, dict[str, Any]]    # team -> flat KPI row (as in runs.csv)


def world_jobs(round_id: str, scenario: Scenario, policies: list[Policy], seed: int,
               replications: int) -> list[TaskSpec]:
    """One job per replication r, world (seed, r), with every policy (named by its team) on it."""
    from sim.experiment.world_task import TaskSpec
    sc = scenario.model_dump(mode="json")
    pols = tuple(p.model_dump(mode="json") for p in policies)
    return [TaskSpec(f"{round_id}:r{r}", scenario.name, 0, {}, r, seed, sc, pols) for r in range(replications)]


def world_id(job: TaskSpec) -> str:
    """Short identity of a job's world: equal for jobs that generate the same world."""
    from sim.experiment.world_task import world_key
    return hashlib.sha256(world_key(job).encode()).hexdigest()[:12]


def run_world(job: TaskSpec) -> TaskResult:
    """Play one world (top-level and picklable, for process pools)."""
    from sim.experiment.world_task import execute
    return execute(job)


def sequential(run: Callable[[TaskSpec], TaskResult], jobs: list[TaskSpec]) -> Iterator[TaskResult]:
    """The default WorldMap: one world after another in this process."""
    for job in jobs:
        yield run(job)


def rows_of(job: TaskSpec, result: TaskResult) -> WorldRows:
    """A job's result as WorldRows; RuntimeError if the world failed (a bug, never a user error:
    every policy was validated at submission)."""
    if result.error is not None:
        raise RuntimeError(f"world {job.replication} failed: {result.error}")
    return WorldRows(job.replication, job.seed, world_id(job), {str(r["policy"]): r for r in result.rows})
