"""Loading a YAML configuration file into a pydantic model, with errors that name the file,
the entry and the problem (not a stack trace).

A key written twice in one mapping (a label listed twice in a codebook's scale, say) is an
error naming the file, the line and the key: YAML itself would silently keep the last one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)
NESTED_TOO_DEEPLY = "nested too deeply to be a configuration file"


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML's safe loader (libyaml's parser where PyYAML has it: ~20× faster, the same values
    for every configuration file here; it words syntax errors its own way and allows a tab
    where PyYAML's own parser did not), refusing a mapping that repeats a key, and reading
    only true/false as booleans (YAML 1.2): an answer label ``Yes`` or ``No`` stays text."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: let the base class report it
                break
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} is written twice in one mapping (first on line {first + 1}); "
                    "YAML would silently keep only the last",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_yaml(path: Path, error: type[Exception], what: str):
    """The YAML document in `path` (any repeated key is an error naming the file and line)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_UniqueKeyLoader)
    except RecursionError:  # PyYAML's own parser
        raise error(f"{path}: cannot read {what}: {NESTED_TOO_DEEPLY}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as problem:
        if "exceeded maximum nesting depth" in str(problem):  # libyaml's parser, said the same way
            raise error(f"{path}: cannot read {what}: {NESTED_TOO_DEEPLY}") from None
        raise error(f"{path}: cannot read {what}: {problem}") from problem


def validation_details(problem: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in problem.errors())


def load_yaml_model(path: Path, model: type[Model], error: type[Exception], what: str) -> Model:
    path = Path(path)
    document = read_yaml(path, error, what)
    if not isinstance(document, dict):
        raise error(f"{path}: {what} must be a YAML mapping")
    try:
        return model.model_validate(document)
    except RecursionError:
        raise error(f"{path}: invalid {what}: {NESTED_TOO_DEEPLY}") from None
    except ValidationError as problem:
        raise error(f"{path}: invalid {what}: {validation_details(problem)}") from problem
