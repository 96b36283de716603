"""A classroom session, as the teaching games do it (Littlefield, the Beer Game): teams join with a
short code, the facilitator opens, pauses and closes rounds and decides which levers teams may
touch, every team's policy meets the same hidden worlds, and a leaderboard ranks them with
intervals.

A team's settings are overrides of the round's starting policy, applied and validated exactly as
`--set` and policy variants (`BASE@PATH=VALUE`) are: an impossible value raises the ConfigError
the command line would show, with the same field message.

Thread safety: the app calls this from a web server. Every state change holds one lock; a round's
simulation runs outside it (submissions and the leaderboard stay responsive) and only one
simulation runs at a time per session (a second `run_round` raises RuntimeError).
"""
from __future__ import annotations

import secrets
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from sim.classroom.leaderboard import Leaderboard, LeaderboardRow, check_objective, rank
from sim.classroom.worlds import WorldMap, WorldRows, rows_of, run_world, sequential, world_jobs

if TYPE_CHECKING:
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L: read aloud and typed by students
CODE_LENGTH = 6
MAX_TEAM_NAME = 30
MAX_TEAMS = 60
MAX_REPLICATIONS = 200
DEFAULT_SEED = 20260105            # the project's default seed (sim.compare, the CLI)
DEFAULT_CONSTRAINT = "sla_compliance_standard>=0.9"


class RoundState(str, Enum):
    """Where the session is: no round yet, a round open to submissions, paused, or closed."""

    WAITING = "waiting"
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


@dataclass
class Round:
    """One round: what teams may change, what they are judged on, what they submitted, and the
    worlds played so far (`worlds`: replication -> every team's KPI row)."""

    number: int
    levers: list[str]
    constraint: str | None
    objective: str
    state: RoundState = RoundState.OPEN
    submissions: dict[str, dict[str, Any]] = field(default_factory=dict)     # team -> lever -> value
    policies: dict[str, Policy] = field(default_factory=dict)                # team -> its validated policy
    played: dict[str, dict[str, Any]] = field(default_factory=dict)          # settings of the last run
    played_submitted: set[str] = field(default_factory=set)                  # teams that had submitted then
    worlds: dict[int, WorldRows] = field(default_factory=dict)
    worlds_total: int = 0


def new_code() -> str:
    """A join code of CODE_LENGTH unambiguous characters from `secrets` (not guessable)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class ClassroomSession:
    """A facilitator's session: teams, rounds, and a leaderboard on common random numbers.

    `scenario` and `base_policy` are names, paths (as on the command line) or validated objects;
    every team starts each round from `base_policy`. Each round plays `replications` worlds of the
    scenario from `seed`: the same hidden worlds for every team.
    """

    def __init__(self, scenario: str | Scenario, base_policy: str | Policy, *, replications: int = 10,
                 seed: int = DEFAULT_SEED, code: str | None = None) -> None:
        from sim.inputs import load_policy, load_scenario
        if not 2 <= int(replications) <= MAX_REPLICATIONS:
            raise ValueError(f"replications must be between 2 and {MAX_REPLICATIONS} (got {replications})")
        self.scenario: Scenario = load_scenario(scenario) if isinstance(scenario, str) else scenario
        self.base_policy: Policy = load_policy(base_policy) if isinstance(base_policy, str) else base_policy
        self.replications = int(replications)
        self.seed = int(seed)
        self.code = code if code is not None else new_code()
        self._base = self.base_policy.model_dump(mode="json")
        self._teams: list[str] = []
        self._rounds: list[Round] = []
        self._lock = threading.RLock()
        self._running = threading.Lock()

    # ---- teams ---------------------------------------------------------------------------------
    @property
    def teams(self) -> list[str]:
        with self._lock:
            return list(self._teams)

    def join(self, team: str) -> None:
        """Add a team. ValueError for an empty name, one longer than 30 characters, control
        characters, or a name already taken (ignoring case and surrounding spaces)."""
        name = team.strip() if isinstance(team, str) else ""
        if not name:
            raise ValueError("a team name cannot be empty")
        if len(name) > MAX_TEAM_NAME:
            raise ValueError(f"a team name has at most {MAX_TEAM_NAME} characters (got {len(name)})")
        if any(unicodedata.category(ch).startswith("C") for ch in name):
            raise ValueError("a team name cannot contain control characters")
        with self._lock:
            if name.casefold() in {t.casefold() for t in self._teams}:
                raise ValueError(f"the team name {name!r} is taken; choose another")
            if len(self._teams) >= MAX_TEAMS:
                raise ValueError(f"this session is full ({MAX_TEAMS} teams)")
            self._teams.append(name)

    # ---- rounds --------------------------------------------------------------------------------
    @property
    def state(self) -> RoundState:
        with self._lock:
            return self._rounds[-1].state if self._rounds else RoundState.WAITING

    @property
    def current_round(self) -> Round | None:
        """A copy of the latest round (None before the first)."""
        with self._lock:
            return _copy(self._rounds[-1]) if self._rounds else None

    @property
    def history(self) -> list[Round]:
        """Copies of every round so far, oldest first."""
        with self._lock:
            return [_copy(r) for r in self._rounds]

    def open_round(self, levers: list[str], constraint: str | None = DEFAULT_CONSTRAINT,
                   objective: str = "bookings") -> int:
        """Open the next round; returns its number (1, 2, ...). `levers` are policy paths as in
        `--set` (`mql.threshold`, `sla.targets.standard`, `reps`): a path that is not a policy field
        raises ConfigError naming the candidates. ValueError while a round is open or paused."""
        from sim.config.paths import route
        if not levers:
            raise ValueError("give at least one lever teams may change (e.g. mql.threshold)")
        paths = list(dict.fromkeys(route(str(lv), f"lever {lv}", only="policy")[1] for lv in levers))
        check_objective(objective, constraint)
        with self._lock:
            if self._rounds and self._rounds[-1].state in (RoundState.OPEN, RoundState.PAUSED):
                raise ValueError(f"round {self._rounds[-1].number} is still {self._rounds[-1].state.value}: "
                                 "close it first")
            rnd = Round(len(self._rounds) + 1, paths, constraint, objective)
            self._rounds.append(rnd)
            return rnd.number

    def pause(self) -> None:
        """Stop accepting submissions until `resume`."""
        self._move((RoundState.OPEN,), RoundState.PAUSED, "pause")

    def resume(self) -> None:
        self._move((RoundState.PAUSED,), RoundState.OPEN, "resume")

    def close_round(self) -> None:
        """No more submissions; `run_round` then gives the final standings."""
        self._move((RoundState.OPEN, RoundState.PAUSED), RoundState.CLOSED, "close")

    def _move(self, allowed: tuple[RoundState, ...], to: RoundState, verb: str) -> None:
        with self._lock:
            if not self._rounds or self._rounds[-1].state not in allowed:
                now = self._rounds[-1].state.value if self._rounds else "waiting (no round yet)"
                raise ValueError(f"cannot {verb}: the round is {now}")
            self._rounds[-1].state = to

    # ---- submissions -----------------------------------------------------------------------------
    def submit(self, team: str, settings: dict[str, Any]) -> None:
        """A team's settings for the open round (replacing its earlier submission). ValueError for
        an unknown team, a round that is not open, or a lever locked this round; ConfigError (the
        command line's field message) for an impossible value. Text values are read as `--set`
        reads them (`"70"` is the number 70, `"1bd"` a duration)."""
        from sim.config.loading import parse_value
        with self._lock:
            name = self._team(team)
            rnd = self._open_round()
            overrides = []
            for lever, value in settings.items():
                path = self._lever(rnd, str(lever))
                overrides.append((path, parse_value(value) if isinstance(value, str) else value))
        policy = self._policy(name, overrides)     # ConfigError: the field message of the CLI
        with self._lock:
            rnd = self._open_round()       # the teacher may have paused meanwhile
            rnd.submissions[name] = dict(overrides)
            rnd.policies[name] = policy

    def policy_of(self, team: str, settings: dict[str, Any] | None = None) -> Policy:
        """The policy a team plays: its submission this round, or `settings` given here (checked
        like a submission, without storing it), or the starting policy."""
        with self._lock:
            name = self._team(team)
            rnd = self._rounds[-1] if self._rounds else None
            if settings is None:
                if rnd is not None and name in rnd.policies:
                    return rnd.policies[name]
                return self._policy(name, [])
            overrides = [(self._lever(rnd, str(k)) if rnd else str(k),
                          v if not isinstance(v, str) else _parse(v)) for k, v in settings.items()]
        return self._policy(name, overrides)

    def _policy(self, team: str, overrides: list[tuple[str, Any]]) -> Policy:
        """The starting policy with a team's overrides, validated as `--set` and policy variants
        are; ConfigError blamed on the team, with the command line's field message."""
        from sim.config.loading import ConfigError, apply_overrides, validate_data
        from sim.config.policy import Policy
        source = f"team {team}"
        try:
            data = apply_overrides(self._base, overrides, source, Policy)
            data["name"] = team
            return validate_data(Policy, data, source, [p for p, _ in overrides])
        except ConfigError as e:
            if not e.source.startswith("--set "):
                raise ConfigError(source, e.problems) from None
            # as sim.inputs.load_variant words it: "mql.threshold: must be >= 0 (got -5)"
            where = e.source.removeprefix("--set ").split(" (on ", 1)[0]
            single = "," not in where
            raise ConfigError(source, [f"{where}: {p}" if single and not p.startswith(where) else p
                                       for p in e.problems]) from None

    def _team(self, team: str) -> str:
        name = team.strip() if isinstance(team, str) else ""
        for t in self._teams:
            if t.casefold() == name.casefold():
                return t
        raise ValueError(f"no team {team!r} in this session; join first")

    def _open_round(self) -> Round:
        if not self._rounds:
            raise ValueError("no round is open yet: wait for the facilitator to open one")
        rnd = self._rounds[-1]
        if rnd.state is RoundState.PAUSED:
            raise ValueError(f"round {rnd.number} is paused: wait for the facilitator to resume it")
        if rnd.state is RoundState.CLOSED:
            raise ValueError(f"round {rnd.number} is closed: submissions are no longer accepted")
        return rnd

    @staticmethod
    def _lever(rnd: Round, lever: str) -> str:
        from sim.config.loading import ConfigError
        from sim.config.paths import route
        path = lever
        if lever not in rnd.levers:
            try:
                path = route(lever, f"lever {lever}", only="policy")[1]
            except ConfigError:
                path = lever
        if path not in rnd.levers:
            raise ValueError(f"{lever} is locked in round {rnd.number}; you may change: {', '.join(rnd.levers)}")
        return path

    # ---- playing the worlds ----------------------------------------------------------------------
    def run_round(self, *, map_worlds: WorldMap | None = None,
                  on_world: Callable[[Leaderboard], None] | None = None) -> Leaderboard:
        """Play every team's policy (its submission, or the starting policy) on the round's
        `replications` hidden worlds and return the standings. Worlds run through `map_worlds`
        (default: one after another here; the app may pass a process pool's map) and
        `on_world(standings so far)` is called as each world finishes, so intervals tighten live.
        RuntimeError if a simulation of this session is already running, ValueError before the
        first round. Runs on an open, paused or closed round (the latest); reruns start afresh."""
        if not self._running.acquire(blocking=False):
            raise RuntimeError("a simulation of this session is already running; wait for it to finish")
        try:
            with self._lock:
                if not self._rounds:
                    raise ValueError("no round yet: open one first")
                rnd = self._rounds[-1]
                teams = list(self._teams)
                if not teams:
                    raise ValueError("no team has joined yet")
                policies = [rnd.policies[t] if t in rnd.policies else self._policy(t, []) for t in teams]
                rnd.played = {t: dict(rnd.submissions.get(t, {})) for t in teams}
                rnd.played_submitted = {t for t in teams if t in rnd.submissions}
                rnd.worlds = {}
                rnd.worlds_total = self.replications
                jobs = world_jobs(f"round{rnd.number}", self.scenario, policies, self.seed, self.replications)
            by_id = {j.id: j for j in jobs}
            for result in (map_worlds or sequential)(run_world, jobs):
                world = rows_of(by_id[result.id], result)
                with self._lock:
                    rnd.worlds[world.replication] = world
                if on_world is not None:
                    on_world(self.standings(rnd.number))
            return self.standings(rnd.number)
        finally:
            self._running.release()

    @property
    def running(self) -> bool:
        """A simulation of this session is running now."""
        return self._running.locked()

    def standings(self, round_no: int | None = None) -> Leaderboard:
        """The leaderboard of a round (default: the latest) from the worlds played so far."""
        with self._lock:
            if not self._rounds:
                raise ValueError("no round yet: open one first")
            rnd = self._rounds[(round_no or len(self._rounds)) - 1]
            teams = list(rnd.played) or list(self._teams)
            runs = {t: {r: w.rows[t] for r, w in rnd.worlds.items() if t in w.rows} for t in teams}
            played = {t: dict(v) for t, v in rnd.played.items()}
            submitted = {t: t in rnd.played_submitted for t in rnd.played}
            total = rnd.worlds_total or self.replications
            number, objective, constraint = rnd.number, rnd.objective, rnd.constraint
        return rank(number, objective, constraint, runs, played, submitted, total)

    def leaderboard(self, round_no: int | None = None) -> list[LeaderboardRow]:
        """The rows of `standings`: rank, team, objective estimate and interval, constraint
        met / not met / unclear, and whether the team can be told apart from the leader."""
        return list(self.standings(round_no).rows)

    def results(self, round_no: int | None = None) -> dict[str, dict[int, dict[str, Any]]]:
        """Every KPI of every team on every world played so far: team -> replication -> row (the
        columns of runs.csv, with `seed`, `replication` and `world_id`)."""
        with self._lock:
            if not self._rounds:
                return {}
            rnd = self._rounds[(round_no or len(self._rounds)) - 1]
            out: dict[str, dict[int, dict[str, Any]]] = {}
            for r, w in sorted(rnd.worlds.items()):
                for t, row in w.rows.items():
                    out.setdefault(t, {})[r] = {**row, "world_id": w.world_id}
            return out


def _parse(v: str) -> Any:
    from sim.config.loading import parse_value
    return parse_value(v)


def _copy(rnd: Round) -> Round:
    """A snapshot of a round that callers can read without the lock."""
    return replace(rnd, levers=list(rnd.levers), submissions={t: dict(v) for t, v in rnd.submissions.items()},
                   policies=dict(rnd.policies), played={t: dict(v) for t, v in rnd.played.items()},
                   played_submitted=set(rnd.played_submitted),
                   worlds=dict(rnd.worlds))


__all__ = ["ClassroomSession", "Leaderboard", "LeaderboardRow", "Round", "RoundState", "new_code"]
