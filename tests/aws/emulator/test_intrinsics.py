"""Intrinsic functions resolve as CloudFormation would; short YAML tags load to long form."""

from __future__ import annotations

import pytest

from agentstream.aws.emulator.intrinsics import Resolver, TemplateError, load_yaml

REFS = {"AWS::Region": "eu-west-1", "Table": "t-1", "Stage": "prod", "Env": "dev"}
ATTRS = {("Fn", "Arn"): "arn:aws:lambda:eu-west-1:1:function:f"}
RESOLVER = Resolver(
    REFS,
    ATTRS,
    conditions={"IsDev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]}},
    mappings={"Sizes": {"dev": {"Mem": 128}}},
)


def test_short_tags_load_to_long_form() -> None:
    """!Ref, !GetAtt A.B and !Sub become Ref / Fn::GetAtt [A, B] / Fn::Sub."""
    data = load_yaml("Resources:\n  X:\n    A: !Ref T\n    B: !GetAtt Fn.Arn\n    C: !Sub '${T}'\n")
    assert data["Resources"]["X"] == {
        "A": {"Ref": "T"},
        "B": {"Fn::GetAtt": ["Fn", "Arn"]},
        "C": {"Fn::Sub": "${T}"},
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "Table"}, "t-1"),
        ({"Fn::GetAtt": ["Fn", "Arn"]}, ATTRS[("Fn", "Arn")]),
        ({"Fn::GetAtt": "Fn.Arn"}, ATTRS[("Fn", "Arn")]),
        ({"Fn::Sub": "${Table}-${AWS::Region}-${Fn.Arn}"}, f"t-1-eu-west-1-{ATTRS[('Fn', 'Arn')]}"),
        ({"Fn::Sub": ["${X}/${Stage}", {"X": {"Ref": "Table"}}]}, "t-1/prod"),
        ({"Fn::Sub": "${!Literal}"}, "${Literal}"),
        ({"Fn::Join": ["/", ["integrations", {"Ref": "Stage"}]]}, "integrations/prod"),
        ({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}, "b"),
        ({"Fn::If": ["IsDev", "small", "large"]}, "small"),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Mem"]}, 128),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"A": {"Ref": "AWS::NoValue"}, "B": 1}, {"B": 1}),
        ([{"Ref": "AWS::NoValue"}, 2], [2]),
    ],
)
def test_intrinsics_resolve(value: object, expected: object) -> None:
    """Each supported intrinsic gives CloudFormation's value."""
    assert RESOLVER.resolve(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"Ref": "Missing"},
        {"Fn::GetAtt": ["Fn", "Nope"]},
        {"Fn::ImportValue": "x"},
        {"Fn::If": ["No", 1, 2]},
    ],
    ids=["unknown-ref", "unknown-attr", "unsupported", "unknown-condition"],
)
def test_unresolvable_intrinsic_raises_template_error(value: object) -> None:
    """An unknown name or unsupported function is a TemplateError naming it."""
    with pytest.raises(TemplateError):
        RESOLVER.resolve(value)


@pytest.mark.parametrize("text", ["a: [", "just a string", "Other: {}"])
def test_unreadable_template_raises_template_error(text: str) -> None:
    """Bad YAML or a template without Resources is a TemplateError."""
    with pytest.raises(TemplateError):
        load_yaml(text)
