"""A SAM or CloudFormation template read into what the emulator serves: APIs, functions, tables.

``load_stack(path)`` transforms SAM offline (``sam.py``), gives every resource the name a
deployment would (``Ref``/``Fn::GetAtt`` values), resolves the intrinsics in the properties the
emulator reads, and follows each WebSocket route → integration → Lambda function.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentstream.aws.emulator.intrinsics import Resolver, TemplateError, load_yaml
from agentstream.aws.emulator.sam import is_sam, transform_sam

logger = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
_FUNCTION_ARN = re.compile(r"(arn:aws[a-z-]*:lambda:[^/]+?)(?:/invocations)?$")


@dataclass(frozen=True)
class Function:
    """One Lambda function, as the emulator runs it."""

    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    runtime: str = "python3.12"
    timeout: float = 3.0
    memory_mb: int = 128
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Authorizer:
    """A REQUEST Lambda authorizer on ``$connect``."""

    logical_id: str
    name: str
    function: str  # logical id of the Lambda
    identity_sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """A route key, the function behind it and how it answers."""

    key: str
    function: str | None
    authorizer: Authorizer | None = None
    two_way: bool = False  # RouteResponseSelectionExpression set: the handler's body goes back


@dataclass(frozen=True)
class WebSocketApi:
    """An ``AWS::ApiGatewayV2::Api`` with ``ProtocolType: WEBSOCKET``."""

    logical_id: str
    api_id: str
    name: str
    selection_expression: str
    stages: tuple[str, ...]
    routes: dict[str, Route]


@dataclass(frozen=True)
class Table:
    """A DynamoDB table to create locally (properties resolved)."""

    logical_id: str
    name: str
    properties: dict[str, Any]


@dataclass
class Stack:
    """Everything in one template the emulator serves."""

    name: str
    region: str
    functions: dict[str, Function]
    apis: list[WebSocketApi]
    tables: list[Table]


def _short_id(*parts: str, size: int = 10) -> str:
    """A stable lowercase id like API Gateway's (same template → same ids across runs)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:size]


def _physical_name(
    stack: str, logical_id: str, res: dict[str, Any], prop: str, pre: Resolver
) -> str:
    explicit = res.get("Properties", {}).get(prop)
    if explicit is not None:
        try:
            return str(pre.resolve(explicit))
        except TemplateError:
            logger.debug("name of %s depends on other resources; generated one", logical_id)
    return f"{stack}-{logical_id}"


_NAME_PROPS = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::IAM::Role": "RoleName",
    "AWS::ApiGatewayV2::Stage": "StageName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
}


def _names(cfn: dict[str, Any], stack: str, region: str, params: dict[str, Any]) -> Resolver:
    """A resolver holding every Ref/GetAtt value a deployment of ``cfn`` would have."""
    refs: dict[str, Any] = {
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": stack,
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack}/emulated",
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
    }
    for name, spec in cfn.get("Parameters", {}).items():
        refs[name] = params.get(name, spec.get("Default", ""))
    pre = Resolver(dict(refs), {}, cfn.get("Conditions"), cfn.get("Mappings"))
    attrs: dict[tuple[str, str], Any] = {}
    for logical_id, res in cfn.get("Resources", {}).items():
        _name_one(logical_id, res, stack, region, pre, refs, attrs)
    return Resolver(refs, attrs, cfn.get("Conditions"), cfn.get("Mappings"))


def _name_one(
    logical_id: str,
    res: dict[str, Any],
    stack: str,
    region: str,
    pre: Resolver,
    refs: dict[str, Any],
    attrs: dict[tuple[str, str], Any],
) -> None:
    kind = res.get("Type", "")
    prefix = f"arn:aws:{kind.split('::')[1].lower() if '::' in kind else 'x'}:{region}:{ACCOUNT_ID}"
    prop = _NAME_PROPS.get(kind)
    name = _physical_name(stack, logical_id, res, prop, pre) if prop else logical_id
    if kind.startswith("AWS::ApiGatewayV2::") and kind != "AWS::ApiGatewayV2::Stage":
        name = _short_id(stack, logical_id, size=10 if kind.endswith("::Api") else 7)
    refs[logical_id] = name
    arn = {
        "AWS::Lambda::Function": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}",
        "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}",
        "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",
    }.get(kind, f"{prefix}:{name}")
    attrs[(logical_id, "Arn")] = arn
    attrs[(logical_id, "StreamArn")] = f"{arn}/stream/emulated"
    attrs[(logical_id, "ApiId")] = name
    attrs[(logical_id, "ApiEndpoint")] = f"wss://{name}.execute-api.{region}.amazonaws.com"
    attrs[(logical_id, "RoleId")] = name
    attrs[(logical_id, "Name")] = name


def _read_template(
    path: Path, params: dict[str, Any], region: str
) -> tuple[dict[str, Any], dict[str, Path]]:
    data = load_yaml(path.read_text())
    if is_sam(data):
        return transform_sam(data, path.parent, params, region)
    return data, {}


def load_stack(
    path: Path | str,
    *,
    stack_name: str | None = None,
    region: str = "us-east-1",
    parameters: dict[str, Any] | None = None,
) -> Stack:
    """Read ``path`` (SAM or CloudFormation, YAML or JSON) into a :class:`Stack`.

    Raises:
        TemplateError: the template is unreadable, invalid, or uses what the emulator lacks.
    """
    path = Path(path).resolve()
    params = dict(parameters or {})
    cfn, folders = _read_template(path, params, region)
    stack = stack_name or re.sub(r"[^A-Za-z0-9-]", "-", path.parent.name or "stack")
    resolver = _names(cfn, stack, region, params)
    resources = cfn["Resources"]
    functions = {
        lid: _function(lid, res, resolver, folders, path.parent)
        for lid, res in resources.items()
        if res.get("Type") == "AWS::Lambda::Function"
    }
    apis = [
        _api(lid, res, resources, resolver, functions)
        for lid, res in resources.items()
        if res.get("Type") == "AWS::ApiGatewayV2::Api"
        and res.get("Properties", {}).get("ProtocolType") == "WEBSOCKET"
    ]
    tables = [
        Table(lid, resolver.refs[lid], resolver.resolve(res.get("Properties", {})))
        for lid, res in resources.items()
        if res.get("Type") == "AWS::DynamoDB::Table"
    ]
    return Stack(stack, region, functions, apis, tables)


def _code_dir(
    lid: str, res: dict[str, Any], props: dict[str, Any], folders: dict[str, Path], base: Path
) -> Path:
    if lid in folders:
        return folders[lid]
    asset = res.get("Metadata", {}).get("aws:asset:path")
    if asset:  # cdk synth output: the code sits in cdk.out/asset.<hash>
        return (base / str(asset)).resolve()
    inline = props.get("Code", {}).get("ZipFile")
    if isinstance(inline, str):  # Lambda writes inline Python code to index.py
        folder = Path(tempfile.mkdtemp(prefix=f"emulator-{lid}-"))
        (folder / "index.py").write_text(inline)
        return folder
    raise TemplateError(f"{lid}: no local code (CodeUri, cdk asset or ZipFile)")


def _function(
    lid: str, res: dict[str, Any], resolver: Resolver, folders: dict[str, Path], base: Path
) -> Function:
    props = resolver.resolve(res.get("Properties", {}))
    variables = props.get("Environment", {}).get("Variables", {})
    return Function(
        logical_id=lid,
        name=resolver.refs[lid],
        arn=resolver.attrs[(lid, "Arn")],
        code_dir=_code_dir(lid, res, props, folders, base),
        handler=str(props.get("Handler", "index.handler")),
        runtime=str(props.get("Runtime", "python3.12")),
        timeout=float(props.get("Timeout", 3)),
        memory_mb=int(props.get("MemorySize", 128)),
        environment={k: str(v) for k, v in variables.items()},
    )


def _function_for(uri: Any, functions: dict[str, Function]) -> str:
    match = _FUNCTION_ARN.search(str(uri).split("/functions/")[-1])
    arn = match.group(1) if match else str(uri)
    for fn in functions.values():
        if fn.arn == arn:
            return fn.logical_id
    raise TemplateError(f"integration target {uri!r} is not a function in this template")


def _children(
    resources: dict[str, Any], kind: str, api_lid: str, resolver: Resolver
) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for lid, res in resources.items():
        if res.get("Type") != kind:
            continue
        props = resolver.resolve(res.get("Properties", {}))
        if props.get("ApiId") == resolver.refs[api_lid]:
            out.append((lid, props))
    return out


def _api(
    lid: str,
    res: dict[str, Any],
    resources: dict[str, Any],
    resolver: Resolver,
    functions: dict[str, Function],
) -> WebSocketApi:
    props = resolver.resolve(res.get("Properties", {}))
    integrations = {
        resolver.refs[i]: _function_for(p.get("IntegrationUri"), functions)
        for i, p in _children(resources, "AWS::ApiGatewayV2::Integration", lid, resolver)
    }
    authorizers = {
        resolver.refs[a]: Authorizer(
            a,
            str(p.get("Name", a)),
            _function_for(p.get("AuthorizerUri"), functions),
            tuple(p.get("IdentitySource", ())),
        )
        for a, p in _children(resources, "AWS::ApiGatewayV2::Authorizer", lid, resolver)
    }
    routes = {}
    for _, p in _children(resources, "AWS::ApiGatewayV2::Route", lid, resolver):
        target = str(p.get("Target", "")).removeprefix("integrations/")
        auth = (
            authorizers.get(p["AuthorizerId"]) if p.get("AuthorizationType") == "CUSTOM" else None
        )
        key = str(p["RouteKey"])
        two_way = bool(p.get("RouteResponseSelectionExpression"))
        routes[key] = Route(key, integrations.get(target), auth, two_way)
    stages = tuple(
        str(p["StageName"])
        for _, p in _children(resources, "AWS::ApiGatewayV2::Stage", lid, resolver)
    )
    if not stages:
        logger.warning("api=%s has no Stage; serving it at /prod", lid)
    return WebSocketApi(
        logical_id=lid,
        api_id=resolver.refs[lid],
        name=str(props.get("Name", lid)),
        selection_expression=str(props.get("RouteSelectionExpression", "$request.body.action")),
        stages=stages or ("prod",),
        routes=routes,
    )
