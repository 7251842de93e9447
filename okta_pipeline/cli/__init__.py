"""The `okta-pipeline` command."""

import warnings

import dagster as dg

# The assets use BackfillPolicy (a day of windows per run) on purpose; Dagster flags it as beta
# every time the definitions are imported, which only clutters the command's output.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
