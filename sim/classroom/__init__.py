"""Classroom mode: a session teams join with a code, rounds a facilitator opens, pauses and closes,
team policies played on the same hidden worlds (common random numbers), a leaderboard with
intervals and a debrief figure. Pure Python (no web framework): the app calls it."""
