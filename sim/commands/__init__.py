"""CLI commands beyond the core ones, one module each; each module exposes click commands that
`sim.cli` registers at its bottom (so `sim.cli` stays small and helpers never collide)."""
