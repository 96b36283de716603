"""The one error type for bad input: `str(err)` is the message the user sees (CLI exit code 2)."""
from __future__ import annotations


class ConfigError(Exception):
    """Bad input. `str(err)` is the one message shown to the user (CLI exit code 2)."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems) or ["invalid"]
        if len(self.problems) == 1:
            text = f"{source}: {self.problems[0]}"
        else:
            text = f"{source}: {len(self.problems)} problems\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(text)
