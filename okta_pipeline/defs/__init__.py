"""Dagster definitions, one folder per domain; definitions.py assembles them."""

import warnings

import dagster as dg

# The assets use BackfillPolicy (a day of windows per run) on purpose; Dagster flags it as beta
# each time an asset is defined, in every process that loads the definitions (the code server,
# each run, the CLI), which only clutters their logs.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
