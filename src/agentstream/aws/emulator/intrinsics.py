"""CloudFormation templates as data: a YAML loader for the short tags and an intrinsic resolver.

The loader turns ``!Ref X`` into ``{"Ref": "X"}`` and ``!GetAtt A.B`` into
``{"Fn::GetAtt": ["A", "B"]}``, so the rest of the emulator (and aws-sam-translator) sees the
long form. The resolver evaluates the intrinsics a local run needs (``Ref``, ``Fn::Sub``,
``Fn::GetAtt``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::If``, ``Fn::Equals``,
``Fn::FindInMap``, ``Fn::Base64``) against a table of names the template would get when deployed.
No I/O: feed a dict, read values back.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml  # type: ignore[import-untyped]

NO_VALUE = object()  # AWS::NoValue: the key holding it disappears
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """The template cannot be read or an intrinsic cannot be resolved."""


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """``yaml.SafeLoader`` that understands CloudFormation's ``!Tag`` short forms."""


def _tag_constructor(tag: str) -> Callable[[yaml.SafeLoader, yaml.Node], Any]:
    name = "Ref" if tag == "Ref" else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in (
    "Ref Sub GetAtt Join Select Split If Equals Not And Or FindInMap Base64 GetAZs "
    "ImportValue Condition Cidr Transform Length ToJsonString"
).split():
    _CfnLoader.add_constructor(f"!{_tag}", _tag_constructor(_tag))


def load_yaml(text: str) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template (YAML or JSON) into long-form dicts."""
    try:
        data = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"template is not valid YAML/JSON: {exc}") from exc
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError("template has no Resources section")
    return data


class Resolver:
    """Evaluates intrinsics against the names and attributes a deployment would produce.

    Args:
        refs: what ``Ref`` returns per logical id, parameter or pseudo parameter.
        attrs: what ``Fn::GetAtt`` returns, keyed by ``(logical id, attribute)``.
        conditions: the template's ``Conditions`` section, evaluated on demand.
        mappings: the template's ``Mappings`` section.
    """

    def __init__(
        self,
        refs: Mapping[str, Any],
        attrs: Mapping[tuple[str, str], Any],
        conditions: Mapping[str, Any] | None = None,
        mappings: Mapping[str, Any] | None = None,
    ) -> None:
        """Hold the names; see the class docstring."""
        self.refs = refs
        self.attrs = attrs
        self.conditions = conditions or {}
        self.mappings = mappings or {}

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic it contains evaluated (recursively)."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            key = next(iter(value))
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(key, value[key])
        out = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _intrinsic(self, key: str, arg: Any) -> Any:
        handlers: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": lambda a: str(self.resolve(a[0])).join(str(x) for x in self.resolve(a[1])),
            "Fn::Select": lambda a: self.resolve(a[1])[int(self.resolve(a[0]))],
            "Fn::Split": lambda a: str(self.resolve(a[1])).split(str(self.resolve(a[0]))),
            "Fn::If": self._if,
            "Fn::Equals": lambda a: self.resolve(a[0]) == self.resolve(a[1]),
            "Fn::Not": lambda a: not self.resolve(a[0]),
            "Fn::And": lambda a: all(self.resolve(x) for x in a),
            "Fn::Or": lambda a: any(self.resolve(x) for x in a),
            "Condition": self.condition,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": lambda a: base64.b64encode(str(self.resolve(a)).encode()).decode(),
            "Fn::GetAZs": lambda a: ["us-east-1a", "us-east-1b", "us-east-1c"],
        }
        handler = handlers.get(key)
        if handler is None:
            raise TemplateError(f"{key} is not supported by the emulator")
        return handler(arg)

    def _ref(self, name: Any) -> Any:
        name = self.resolve(name)
        if name == "AWS::NoValue":
            return NO_VALUE
        if name not in self.refs:
            raise TemplateError(f"Ref to unknown name {name!r}")
        return self.refs[name]

    def _get_att(self, arg: Any) -> Any:
        parts = arg.split(".", 1) if isinstance(arg, str) else [self.resolve(a) for a in arg]
        key = (parts[0], parts[1])
        if key not in self.attrs:
            raise TemplateError(f"Fn::GetAtt {parts[0]}.{parts[1]} is not known")
        return self.attrs[key]

    def _sub(self, arg: Any) -> str:
        text, local = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local:
                return str(local[name])
            if "." in name and name not in self.refs:
                return str(self._get_att(name))
            return str(self._ref(name))

        return _SUB_VAR.sub(one, text).replace("${!", "${")

    def condition(self, name: str) -> bool:
        """The truth of a named condition from the template's ``Conditions``."""
        if name not in self.conditions:
            raise TemplateError(f"unknown condition {name!r}")
        return bool(self.resolve(self.conditions[name]))

    def _if(self, arg: Any) -> Any:
        return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])

    def _find_in_map(self, arg: Any) -> Any:
        name, top, second = (self.resolve(a) for a in arg)
        try:
            return self.mappings[name][top][second]
        except KeyError as exc:
            raise TemplateError(f"Fn::FindInMap {name}/{top}/{second} not found") from exc
