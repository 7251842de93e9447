"""Named example queries over the landing zone's views, kept as `examples/<name>.sql`.

Each file starts with `--` comment lines: the first is the example's title, the rest say what
it assumes; a `-- parameters: a, b` line names the `$a`, `$b` the query needs (given with
`okta-pipeline sql --param a=...`). The SQL is plain DuckDB that can be copied and changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    sql: str
    parameters: tuple[str, ...] = ()


def load_examples() -> dict[str, Example]:
    """Every example, by name."""
    folder = resources.files("okta_pipeline.lib.landing_sql").joinpath("examples")
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        sql = entry.read_text(encoding="utf-8")
        name = entry.name.removesuffix(".sql")
        found[name] = Example(name, _title(sql), sql, _parameters(sql))
    return found


def example(name: str) -> Example:
    """The example called `name`; the error lists the ones there are."""
    examples = load_examples()
    if name not in examples:
        raise ValueError(f"no example query named {name!r}; there are: {', '.join(examples)}")
    return examples[name]


def _title(sql: str) -> str:
    first = sql.lstrip().splitlines()[0] if sql.strip() else ""
    if not first.startswith("--"):
        return ""
    return first.removeprefix("--").strip()


def _parameters(sql: str) -> tuple[str, ...]:
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        text = line.removeprefix("--").strip()
        if text.startswith("parameters:"):
            return tuple(p.strip() for p in text.removeprefix("parameters:").split(",") if p)
    return ()
