"""SAM → CloudFormation, offline, with aws-sam-translator.

The translator wants three things a laptop has no reason to provide (see
``research/aws-offline.md`` §1): a region, ``s3://`` code locations and IAM's list of managed
policies. We give it a region, swap each local ``CodeUri`` for a placeholder ``s3://`` URI (as
``sam validate`` does) and remember the folder per function, and load managed policies from a
map that invents the ARN instead of calling IAM — nothing leaves the machine.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from agentstream.aws.emulator.intrinsics import TemplateError

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
_PLACEHOLDER_BUCKET = "agentstream-emulator"


class _OfflinePolicies(dict[str, str]):
    """Managed policy name → ARN, made up locally (IAM is not enforced by the emulator)."""

    def __missing__(self, name: str) -> str:
        return f"arn:aws:iam::aws:policy/{name}"

    def get(self, name: str, default: Any = None) -> Any:
        return self[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)


class _OfflinePolicyLoader:
    """Stands in for ``samtranslator``'s ``ManagedPolicyLoader`` without an IAM client."""

    def load(self) -> dict[str, str]:
        return _OfflinePolicies()


def is_sam(template: dict[str, Any]) -> bool:
    """Whether the template asks for the SAM transform."""
    transform = template.get("Transform")
    names = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in names


def _swap_code_uri(props: dict[str, Any], base: Path, key: str) -> Path | None:
    """Replace a local CodeUri with an ``s3://`` placeholder; return the local folder."""
    uri = props.get("CodeUri")
    if not isinstance(uri, str) or uri.startswith("s3://"):
        return None
    props["CodeUri"] = f"s3://{_PLACEHOLDER_BUCKET}/{key}"
    return (base / uri).resolve()


def _code_locations(template: dict[str, Any], base: Path) -> dict[str, Path]:
    """Swap every local CodeUri (per function and in Globals) and return logical id → folder."""
    folders: dict[str, Path] = {}
    global_fn = template.get("Globals", {}).get("Function", {})
    default = _swap_code_uri(global_fn, base, "globals") if global_fn else None
    for logical_id, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res.setdefault("Properties", {})
        folder = _swap_code_uri(props, base, logical_id)
        if folder is None and "CodeUri" not in props and "InlineCode" not in props:
            folder = default
        if folder is not None:
            folders[logical_id] = folder
    return folders


def transform_sam(
    template: dict[str, Any], base: Path, parameters: dict[str, Any], region: str
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Translate a SAM template to CloudFormation without touching AWS.

    Args:
        template: the SAM template as long-form dicts.
        base: the folder relative ``CodeUri`` paths start from.
        parameters: parameter values (defaults come from the template).
        region: the region the translator should assume.

    Returns:
        The CloudFormation template and, per function logical id, its local code folder.

    Raises:
        TemplateError: the translator rejected the template.
    """
    from samtranslator.model.exceptions import (  # type: ignore[import-untyped]
        InvalidDocumentException,
    )
    from samtranslator.translator.transform import transform  # type: ignore[import-untyped]

    sam = copy.deepcopy(template)
    folders = _code_locations(sam, base)
    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator asks boto3 for a region
    try:
        cfn = transform(sam, dict(parameters), _OfflinePolicyLoader())
    except InvalidDocumentException as exc:
        messages = "; ".join(str(cause) for cause in exc.causes)
        raise TemplateError(f"SAM template is invalid: {messages}") from exc
    finally:
        if saved is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved
    return cfn, folders
