"""The Terraform configuration under terraform/, parsed with python-hcl2 into plain values."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import pytest

TERRAFORM_DIR = Path(__file__).resolve().parents[2] / "terraform"

Block = dict[str, Any]


@dataclass
class TerraformConfig:
    variables: dict[str, Block] = field(default_factory=dict)
    outputs: dict[str, Block] = field(default_factory=dict)
    locals: Block = field(default_factory=dict)
    resources: list[tuple[str, str, Block]] = field(default_factory=list)
    ephemerals: list[tuple[str, str, Block]] = field(default_factory=list)
    data: list[tuple[str, str, Block]] = field(default_factory=list)
    terraform: list[Block] = field(default_factory=list)

    def resource(self, type_: str, name: str) -> Block:
        for found_type, found_name, body in self.resources:
            if (found_type, found_name) == (type_, name):
                return body
        raise KeyError(f"{type_}.{name}")

    def data_source(self, type_: str, name: str) -> Block:
        for found_type, found_name, body in self.data:
            if (found_type, found_name) == (type_, name):
                return body
        raise KeyError(f"data.{type_}.{name}")


def load_terraform(directory: Path = TERRAFORM_DIR) -> TerraformConfig:
    config = TerraformConfig()
    for path in sorted(directory.glob("*.tf")):
        with path.open() as source:
            parsed = plain(hcl2.load(source))
        for variable in parsed.get("variable", []):
            config.variables.update(variable)
        for output in parsed.get("output", []):
            config.outputs.update(output)
        for local_block in parsed.get("locals", []):
            config.locals.update(local_block)
        kinds = (
            ("resource", config.resources),
            ("ephemeral", config.ephemerals),
            ("data", config.data),
        )
        for kind, into in kinds:
            for block in parsed.get(kind, []):
                for type_, named in block.items():
                    for name, body in named.items():
                        into.append((type_, name, body))
        config.terraform.extend(parsed.get("terraform", []))
    return config


def plain(value: Any) -> Any:
    """python-hcl2 keeps the quotes of keys and string literals and adds bookkeeping keys;
    drop both, so that `name = "x"` reads as {"name": "x"}."""
    if isinstance(value, dict):
        return {
            unquote(key): plain(item)
            for key, item in value.items()
            if not (isinstance(key, str) and key.startswith("__"))
        }
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, str):
        return unquote(value)
    return value


def unquote(text: str) -> str:
    if len(text) >= 2 and text.startswith('"') and text.endswith('"') and '"' not in text[1:-1]:
        return text[1:-1]
    return text


def evaluate(expression: str, values: Mapping[str, str]) -> str:
    """What Terraform computes for a `${...}` expression of the configuration once each
    reference in `values` is replaced by its HCL literal (`terraform console`, no state). The
    test is skipped where Terraform is not installed."""
    terraform_cli = shutil.which("terraform")
    if terraform_cli is None:
        pytest.skip("Terraform is not installed: the expression cannot be evaluated")
    expression = expression.removeprefix("${").removesuffix("}")
    for reference, value in values.items():
        expression = expression.replace(reference, value)
    evaluated = subprocess.run(
        [terraform_cli, "console"],
        input=expression,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tempfile.mkdtemp(),
    )
    return evaluated.stdout.strip()


def validation_accepts(config: TerraformConfig, variable: str, value: Any) -> bool:
    """Whether the variable's first validation condition holds for `value` (None is null)."""
    condition = config.variables[variable]["validation"][0]["condition"]
    literal = "null" if value is None else json.dumps(value)
    return evaluate(condition, {f"var.{variable}": literal}) == "true"
