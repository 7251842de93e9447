"""The local Dagster instance the demo, the UI and the CLI share: `.dagster_home` in the
project's directory (ignored by git), unless DAGSTER_HOME names another."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

LOCAL_HOME = ".dagster_home"
INSTANCE_SETTINGS = "dagster.yaml"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""Run config for a run the CLI launches itself: its console shows warnings and errors only."""


def local_dagster_home(environ: Mapping[str, str], project: Path) -> Path:
    """DAGSTER_HOME when set, else the project's `.dagster_home`, created with the project's
    `dagster.yaml` (a settings file already there is the user's and is kept)."""
    named = environ.get("DAGSTER_HOME", "").strip()
    home = Path(named) if named else project / LOCAL_HOME
    home.mkdir(parents=True, exist_ok=True)
    settings = project / INSTANCE_SETTINGS
    if not named and settings.is_file() and not (home / INSTANCE_SETTINGS).exists():
        shutil.copyfile(settings, home / INSTANCE_SETTINGS)
    return home.resolve()


def local_instance(environ: Mapping[str, str], project: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(local_dagster_home(environ, project)))
