"""The SCIM filter expressions that `/api/v1/logs?filter=` accepts, parsed and evaluated."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
FILTERABLE_ROOTS = frozenset(
    {
        "eventType",
        "uuid",
        "severity",
        "displayMessage",
        "legacyEventType",
        "version",
        "actor",
        "client",
        "outcome",
        "target",
        "transaction",
        "debugContext",
        "authenticationContext",
        "securityContext",
        "request",
        "device",
    }
)
_TOKEN = re.compile(r'\s*(?:(\()|(\))|("(?:[^"\\]|\\.)*")|([^\s()"]+))')


class FilterError(ValueError):
    """The filter is not valid; the message names the offending part."""


def parse_filter(text: str) -> Predicate:
    tokens = _tokenize(text)
    parser = _Parser(tokens)
    predicate = parser.expression()
    if parser.position != len(tokens):
        raise FilterError(f"unexpected {tokens[parser.position]!r} in filter")
    return predicate


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                break
            raise FilterError(f"cannot read filter at {text[position : position + 20]!r}")
        tokens.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    if not tokens:
        raise FilterError("empty filter")
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise FilterError("filter ends too early")
        self.position += 1
        return token

    def expression(self) -> Predicate:
        left = self.conjunction()
        while (self.peek() or "").lower() == "or":
            self.take()
            right = self.conjunction()
            left = _either(left, right)
        return left

    def conjunction(self) -> Predicate:
        left = self.negation()
        while (self.peek() or "").lower() == "and":
            self.take()
            right = self.negation()
            left = _both(left, right)
        return left

    def negation(self) -> Predicate:
        if (self.peek() or "").lower() == "not":
            self.take()
            inner = self.group()
            return lambda event: not inner(event)
        return self.primary()

    def group(self) -> Predicate:
        if self.take() != "(":
            raise FilterError("'not' must be followed by a parenthesised filter")
        inner = self.expression()
        if self.take() != ")":
            raise FilterError("missing ')' in filter")
        return inner

    def primary(self) -> Predicate:
        if self.peek() == "(":
            return self.group()
        path = self.take()
        _check_path(path)
        operator = self.take().lower()
        if operator == "pr":
            return _present(path)
        if operator not in OPERATORS:
            raise FilterError(
                f"unknown operator {operator!r} (use one of {', '.join(OPERATORS)}, pr)"
            )
        return _compare(path, operator, _literal(self.take()))


def _check_path(path: str) -> None:
    root = path.split(".", 1)[0]
    if root == "published":
        raise FilterError("filter may not reference 'published': use since and until")
    if root not in FILTERABLE_ROOTS or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.]*", path):
        raise FilterError(f"unknown field {path!r} in filter")


def _literal(token: str) -> Any:
    if token.startswith('"'):
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    try:
        return float(token) if "." in token else int(token)
    except ValueError:
        raise FilterError(
            f"expected a quoted string, number, true, false or null, got {token!r}"
        ) from None


def resolve(event: Any, path: str) -> list[Any]:
    """Every value at a dotted path; lists (such as `target`) match if any element does."""
    values = [event]
    for part in path.split("."):
        found: list[Any] = []
        for value in values:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict) and part in item:
                    found.append(item[part])
        values = found
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def _present(path: str) -> Predicate:
    return lambda event: any(v not in (None, "", [], {}) for v in resolve(event, path))


def _compare(path: str, operator: str, expected: Any) -> Predicate:
    def test(actual: Any) -> bool:
        if operator == "eq":
            return bool(actual == expected)
        if operator == "ne":
            return bool(actual != expected)
        if actual is None or expected is None:
            return False
        if operator in ("co", "sw", "ew"):
            text, needle = str(actual).lower(), str(expected).lower()
            return {
                "co": needle in text,
                "sw": text.startswith(needle),
                "ew": text.endswith(needle),
            }[operator]
        try:
            return bool(
                {
                    "gt": actual > expected,
                    "ge": actual >= expected,
                    "lt": actual < expected,
                    "le": actual <= expected,
                }[operator]
            )
        except TypeError:
            return False

    if operator == "ne":
        return lambda event: all(test(v) for v in resolve(event, path) or [None])
    return lambda event: any(test(v) for v in resolve(event, path))


def _either(left: Predicate, right: Predicate) -> Predicate:
    return lambda event: left(event) or right(event)


def _both(left: Predicate, right: Predicate) -> Predicate:
    return lambda event: left(event) and right(event)
