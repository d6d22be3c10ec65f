"""Loading a YAML configuration file into a pydantic model, with errors that name the file,
the entry and the problem (not a stack trace)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


def load_yaml_model(path: Path, model: type[Model], error: type[Exception], what: str) -> Model:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as problem:
        raise error(f"{path}: cannot read {what}: {problem}") from problem
    except RecursionError:
        raise error(f"{path}: cannot read {what}: nested too deeply to be a configuration file") from None
    if not isinstance(document, dict):
        raise error(f"{path}: {what} must be a YAML mapping")
    try:
        return model.model_validate(document)
    except RecursionError:
        raise error(f"{path}: invalid {what}: nested too deeply to be a configuration file") from None
    except ValidationError as problem:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in problem.errors()
        )
        raise error(f"{path}: invalid {what}: {details}") from problem
