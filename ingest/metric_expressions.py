"""The small expression language of the metric catalogue, parsed here and built as polars
expressions: nothing in ``config/metrics.yaml`` is ever handed to an SQL engine.

A numerator, denominator or filter may use only:

* column names of the source's clean table (``attendances``, ``"Org code"`` quoted);
* numbers, 'text' in single quotes, ``null``, ``true``, ``false``;
* arithmetic ``+ - * / %`` and brackets (``%`` as in SQL: -5 % 3 is -2); comparisons ``= <> != < <= > >=``;
  ``and``, ``or``, ``not``, ``is [not] null``, ``[not] in (literal, ...)``,
  ``[not] between ... and ...``;
* ``case when ... then ... [else ...] end``;
* the functions in `FUNCTIONS` (coalesce, nullif, abs, round, greatest, least).

Anything else (a sub-query, ``read_csv``, any other function, a ``;``, a comment) is a
`MetricExpressionError` naming the position, so a catalogue cannot read files, reach the
network or run code, whoever edits it. Division is true division (``7 / 2`` is 3.5).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

#: The longest expression accepted (characters): a catalogue entry is a line or two.
MAX_LENGTH = 2_000
#: The deepest nesting of brackets, functions and CASEs accepted.
MAX_DEPTH = 32


class MetricExpressionError(ValueError):
    """An expression outside the catalogue's language; the message says where and why."""


def _remainder(left: pl.Expr, right: pl.Expr) -> pl.Expr:
    """SQL's remainder, with the sign of the dividend (-5 % 3 is -2; polars' % floors)."""
    floored = left % right
    return pl.when((floored != 0) & ((left < 0) != (right < 0))).then(floored - right).otherwise(floored)


def _coalesce(*args: pl.Expr) -> pl.Expr:
    return pl.coalesce(list(args))


def _nullif(value: pl.Expr, other: pl.Expr) -> pl.Expr:
    return pl.when(value == other).then(None).otherwise(value)


def _round(value: pl.Expr, digits: pl.Expr | None = None) -> pl.Expr:
    return value.round(0 if digits is None else _literal_int(digits))


def _literal_int(expr: pl.Expr) -> int:
    try:
        value = pl.select(expr).item()
    except Exception:  # a column: not a literal
        value = None
    if not isinstance(value, int) or isinstance(value, bool):
        raise MetricExpressionError("round(): the number of decimals must be a whole number")
    return value


#: name -> (fewest arguments, most arguments or None for any, builder)
FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., pl.Expr]]] = {
    "coalesce": (1, None, _coalesce),
    "nullif": (2, 2, _nullif),
    "abs": (1, 1, lambda value: value.abs()),
    "round": (1, 2, _round),
    "greatest": (1, None, lambda *args: pl.max_horizontal(list(args))),
    "least": (1, None, lambda *args: pl.min_horizontal(list(args))),
}

_KEYWORDS = {
    "and",
    "or",
    "not",
    "is",
    "null",
    "in",
    "between",
    "case",
    "when",
    "then",
    "else",
    "end",
    "true",
    "false",
}
#: SQL words that would start a query or statement: named in the error, never parsed.
_STATEMENT_WORDS = {"select", "from", "with", "union", "insert", "update", "delete", "drop", "create", "copy", "attach"}
_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")+")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><>|!=|<=|>=|[-+*/%()=<>,])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, keyword, op, end
    text: str
    position: int


def _tokens(expression: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            shown = expression[position : position + 1]
            raise MetricExpressionError(f"character {position + 1}: {shown!r} is not allowed here")
        kind, text = match.lastgroup, match.group()
        if kind == "name" and text.lower() in _KEYWORDS:
            kind, text = "keyword", text.lower()
        if kind != "space":
            tokens.append(_Token(kind, text, position))
        position = match.end()
    tokens.append(_Token("end", "", len(expression)))
    return tokens


class _Parser:
    """Recursive descent over the grammar in the module docstring, building polars expressions."""

    def __init__(self, expression: str):
        self.tokens = _tokens(expression)
        self.index = 0
        self.depth = 0

    # -- token helpers
    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def _is(self, kind: str, *texts: str) -> bool:
        return self.token.kind == kind and (not texts or self.token.text in texts)

    def _take(self, kind: str, *texts: str) -> _Token | None:
        if self._is(kind, *texts):
            token = self.token
            self.index += 1
            return token
        return None

    def _expect(self, kind: str, text: str) -> _Token:
        token = self._take(kind, text)
        if token is None:
            self._fail(f"expected {text!r}")
        return token

    def _fail(self, what: str):
        token = self.token
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        raise MetricExpressionError(f"character {token.position + 1}: {what}, found {found}")

    def _nested(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self._fail(f"nested more than {MAX_DEPTH} deep")

    # -- grammar
    def parse(self) -> pl.Expr:
        expr = self.disjunction()
        if not self._is("end"):
            self._fail("expected an operator or the end of the expression")
        return expr

    def disjunction(self) -> pl.Expr:
        expr = self.conjunction()
        while self._take("keyword", "or"):
            expr = expr | self.conjunction()
        return expr

    def conjunction(self) -> pl.Expr:
        expr = self.negation()
        while self._take("keyword", "and"):
            expr = expr & self.negation()
        return expr

    def negation(self) -> pl.Expr:
        if self._take("keyword", "not"):
            self._nested()
            expr = ~self.negation()
            self.depth -= 1
            return expr
        return self.comparison()

    def comparison(self) -> pl.Expr:
        left = self.additive()
        operators = {
            "=": pl.Expr.eq,
            "<>": pl.Expr.ne,
            "!=": pl.Expr.ne,
            "<": pl.Expr.lt,
            "<=": pl.Expr.le,
            ">": pl.Expr.gt,
            ">=": pl.Expr.ge,
        }
        if self._is("op", *operators):
            operator = operators[self._take("op").text]
            return operator(left, self.additive())
        if self._take("keyword", "is"):
            negated = self._take("keyword", "not") is not None
            self._expect("keyword", "null")
            return left.is_not_null() if negated else left.is_null()
        negated = self._take("keyword", "not") is not None
        if self._take("keyword", "in"):
            self._expect("op", "(")
            values = [self.literal_value()]
            while self._take("op", ","):
                values.append(self.literal_value())
            self._expect("op", ")")
            expr = left.is_in(values)
            return ~expr if negated else expr
        if self._take("keyword", "between"):
            low = self.additive()
            self._expect("keyword", "and")
            high = self.additive()
            expr = (left >= low) & (left <= high)
            return ~expr if negated else expr
        if negated:
            self._fail("expected 'in' or 'between' after 'not'")
        return left

    def additive(self) -> pl.Expr:
        expr = self.multiplicative()
        while self._is("op", "+", "-"):
            if self._take("op").text == "+":
                expr = expr + self.multiplicative()
            else:
                expr = expr - self.multiplicative()
        return expr

    def multiplicative(self) -> pl.Expr:
        expr = self.unary()
        while self._is("op", "*", "/", "%"):
            operator = self._take("op").text
            right = self.unary()
            expr = expr * right if operator == "*" else expr / right if operator == "/" else _remainder(expr, right)
        return expr

    def unary(self) -> pl.Expr:
        if self._is("op", "-", "+"):
            sign = self._take("op").text
            self._nested()
            expr = self.unary()
            self.depth -= 1
            return -expr if sign == "-" else expr
        return self.primary()

    def primary(self) -> pl.Expr:
        token = self.token
        if token.kind in ("number", "string") or self._is("keyword", "null", "true", "false"):
            return pl.lit(self.literal_value())
        if self._take("op", "("):
            self._nested()
            expr = self.disjunction()
            self._expect("op", ")")
            self.depth -= 1
            return expr
        if self._take("keyword", "case"):
            return self.case()
        if token.kind == "quoted":
            self.index += 1
            return pl.col(token.text[1:-1].replace('""', '"'))
        if token.kind == "name":
            if token.text.lower() in _STATEMENT_WORDS:
                self._fail(
                    "queries and statements are not allowed, only column names, arithmetic, comparisons, case and functions"
                )
            self.index += 1
            if self._is("op", "("):
                return self.function(token)
            return pl.col(token.text)
        self._fail("expected a column, a number, 'text', a function or '('")

    def literal_value(self) -> float | int | str | bool | None:
        negative = self._take("op", "-") is not None
        token = self.token
        if token.kind == "number":
            self.index += 1
            value = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
            if isinstance(value, int) and not -(2**63) < value < 2**63:
                value = float(value)
            return -value if negative else value
        if negative:
            self._fail("expected a number after '-'")
        if token.kind == "string":
            self.index += 1
            return token.text[1:-1].replace("''", "'")
        if self._take("keyword", "null"):
            return None
        if self._take("keyword", "true"):
            return True
        if self._take("keyword", "false"):
            return False
        self._fail("expected a number, 'text', null, true or false")

    def function(self, name: _Token) -> pl.Expr:
        known = FUNCTIONS.get(name.text.lower())
        if known is None:
            raise MetricExpressionError(
                f"character {name.position + 1}: function {name.text!r} is not allowed "
                f"(allowed: {', '.join(sorted(FUNCTIONS))})"
            )
        fewest, most, build = known
        self._expect("op", "(")
        self._nested()
        arguments = [] if self._is("op", ")") else [self.disjunction()]
        while self._take("op", ","):
            arguments.append(self.disjunction())
        self._expect("op", ")")
        self.depth -= 1
        if len(arguments) < fewest or (most is not None and len(arguments) > most):
            wanted = str(fewest) if most == fewest else f"{fewest} or more" if most is None else f"{fewest} to {most}"
            raise MetricExpressionError(
                f"character {name.position + 1}: {name.text}() takes {wanted} arguments, not {len(arguments)}"
            )
        return build(*arguments)

    def case(self) -> pl.Expr:
        self._nested()
        branches = []
        while self._take("keyword", "when"):
            condition = self.disjunction()
            self._expect("keyword", "then")
            branches.append((condition, self.disjunction()))
        if not branches:
            self._fail("expected 'when' after 'case'")
        otherwise = self.disjunction() if self._take("keyword", "else") else pl.lit(None)
        self._expect("keyword", "end")
        self.depth -= 1
        (condition, value), *rest = branches
        chain = pl.when(condition).then(value)
        for condition, value in rest:
            chain = chain.when(condition).then(value)
        return chain.otherwise(otherwise)


def parse_metric_expression(expression: str) -> pl.Expr:
    """The polars expression for one catalogue expression, or `MetricExpressionError`."""
    if not isinstance(expression, str) or not expression.strip():
        raise MetricExpressionError("the expression is empty")
    if len(expression) > MAX_LENGTH:
        raise MetricExpressionError(f"longer than {MAX_LENGTH} characters")
    return _Parser(expression).parse()
