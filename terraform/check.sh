#!/usr/bin/env bash
# terraform fmt and validate, where a Terraform binary (and, for validate, its providers) can be
# had; a printed notice otherwise. checkov and the HCL tests run in any case (make test).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v terraform >/dev/null 2>&1; then
  echo "NOTICE: terraform is not on PATH: skipping terraform fmt and validate."
  exit 0
fi

terraform fmt -check -recursive -diff . 2> >(grep -v -e 'CLI configuration' -e '^[│╷╵ ]*$' >&2 || true)
echo "terraform fmt: ok"

data_dir="$(mktemp -d)"
trap 'rm -rf "$data_dir"' EXIT
# A local provider mirror (a directory laid out as registry.terraform.io/hashicorp/aws/<version>/
# <os>_<arch>/), for machines that reach no Terraform registry.
if [[ -n "${TF_PLUGIN_MIRROR:-}" ]]; then
  cat >"$data_dir/cli.tfrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$TF_PLUGIN_MIRROR"
    include = ["registry.terraform.io/*/*"]
  }
}
EOF
  export TF_CLI_CONFIG_FILE="$data_dir/cli.tfrc"
fi
init_log="$data_dir/init.log"
if TF_DATA_DIR="$data_dir" terraform init -backend=false -input=false -no-color >"$init_log" 2>&1; then
  TF_DATA_DIR="$data_dir" terraform validate -no-color
  exit 0
fi
if grep -q -e 'Failed to query available provider packages' -e 'could not connect to registry' \
  -e 'Failed to install provider' "$init_log"; then
  echo "NOTICE: the hashicorp/aws provider cannot be installed here (no route to its registry;" \
    "set TF_PLUGIN_MIRROR to a local provider mirror): skipping terraform validate."
  exit 0
fi
cat "$init_log" >&2
exit 1
