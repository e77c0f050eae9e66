"""YAML as the CLI reads it: ``1e-4`` is a float (as in YAML 1.2) and duplicate keys are errors.

Example:
    >>> load_yaml("lr: 1e-4")
    {'lr': 0.0001}
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from hyperdial._types import JSON
from hyperdial.exceptions import SpecError

__all__ = ["load_yaml"]

# PyYAML follows YAML 1.1, where ``1e-4`` is a string; the spec reads it as a float (YAML 1.2).
_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _SpecLoader(yaml.SafeLoader):
    """A safe loader that reads ``1e-4`` as a float and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and not key_node.tag.endswith(":merge"):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


_SpecLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_RE, list("-+0123456789."))


def load_yaml(text: str, source: str = "<string>") -> JSON:
    """Parse YAML text the way specs are read (``1e-4`` is a float; duplicate keys are errors).

    Raises:
        SpecError: the text is not valid YAML; the message gives the line and column.

    Example:
        >>> load_yaml("lr: 1e-4")
        {'lr': 0.0001}
    """
    try:
        return yaml.load(text, Loader=_SpecLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(f"{source}: {where}{problem}.") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: invalid YAML: {exc}.") from None
