"""From a CRM export to a calibrated scenario and a backtest (interface layer: reads CSV and TOML).

mapping (which column means what) -> importer (clean table + bad rows by reason) -> calibrate (fits
from history) + simcheck (solve and check through the engine) -> scenario TOML (tomlout); realworld
(real leads as a World for the engine's scorer) -> backtest, fitscoring; figures for the reports.
"""
