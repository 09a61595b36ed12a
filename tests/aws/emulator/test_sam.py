"""SAM templates transform offline: local code folders, Globals, managed policies without IAM."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentstream.aws.emulator.intrinsics import TemplateError
from agentstream.aws.emulator.sam import is_sam, transform_sam

SAM = {
    "Transform": "AWS::Serverless-2016-10-31",
    "Globals": {"Function": {"Runtime": "python3.12", "CodeUri": "shared/", "Timeout": 7}},
    "Resources": {
        "One": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": "one/",
                "Handler": "app.h",
                "Policies": ["AmazonDynamoDBFullAccess"],
            },
        },
        "Two": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.h"}},
    },
}


def test_transform_maps_each_function_to_its_local_folder(tmp_path: Path) -> None:
    """Each function's folder is its CodeUri, or Globals' CodeUri; Globals' Timeout applies."""
    cfn, folders = transform_sam(SAM, tmp_path, {}, "us-east-1")
    assert folders == {"One": (tmp_path / "one").resolve(), "Two": (tmp_path / "shared").resolve()}
    assert cfn["Resources"]["Two"]["Properties"]["Timeout"] == 7
    assert cfn["Resources"]["One"]["Type"] == "AWS::Lambda::Function"


def test_managed_policy_names_resolve_without_iam(tmp_path: Path) -> None:
    """A managed policy by name becomes its ARN with no call to IAM."""
    cfn, _ = transform_sam(SAM, tmp_path, {}, "us-east-1")
    role = cfn["Resources"]["OneRole"]["Properties"]
    assert "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess" in role["ManagedPolicyArns"]


def test_invalid_sam_property_is_a_template_error(tmp_path: Path) -> None:
    """An unknown SAM property fails with the translator's message."""
    bad = {
        "Transform": SAM["Transform"],
        "Resources": {
            "F": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "x/",
                    "Handler": "a.b",
                    "Runtime": "python3.12",
                    "Bogus": 1,
                },
            }
        },
    }
    with pytest.raises(TemplateError, match="Bogus"):
        transform_sam(bad, tmp_path, {}, "us-east-1")


def test_is_sam_reads_single_and_list_transforms() -> None:
    """Transform as a string or a list both count; none does not."""
    assert is_sam({"Transform": "AWS::Serverless-2016-10-31"})
    assert is_sam({"Transform": ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]})
    assert not is_sam({})
