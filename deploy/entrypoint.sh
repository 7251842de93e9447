#!/bin/sh
# The container's root file system is read-only; DAGSTER_HOME lives on the writable /tmp volume
# and gets the production instance configuration before the Dagster command starts.
set -eu
: "${DAGSTER_HOME:?DAGSTER_HOME must be set}"
: "${OKTA_PIPELINE_INSTANCE_CONFIG:=/opt/okta-pipeline/deploy/dagster.yaml}"
mkdir -p "$DAGSTER_HOME"
cp "$OKTA_PIPELINE_INSTANCE_CONFIG" "$DAGSTER_HOME/dagster.yaml"
exec "$@"
