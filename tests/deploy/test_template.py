"""deploy/ templates: cfn-lint clean, and transformed offline by aws-sam-translator into the
resources the code expects (protocol, routes, tables and TTL names, least-privilege IAM)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from cfnlint.decode import decode_str

from agentstream.apps.calledit.records import dynamodb as calls_tables
from agentstream.aws import live
from agentstream.stores import dynamodb
from agentstream.stores.dynamodb_base import table_spec

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TEMPLATES = sorted(DEPLOY.glob("*.yaml"))
STACK = "agentstream-test"
CODE_TABLES = {**dynamodb.TABLES, **live.TABLES, **calls_tables.TABLES}


class NoManagedPolicies:
    """The translator asks IAM for managed policies only when a template names them."""

    def load(self) -> dict[str, str]:
        return {}


def transformed(path: Path, **parameters: str) -> dict[str, Any]:
    """The template as CloudFormation, transformed offline (CodeUri made an s3:// URI)."""
    from samtranslator.translator.transform import transform

    template, matches = decode_str(path.read_text())
    assert not matches and template is not None
    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    return transform(template, parameters, NoManagedPolicies())  # type: ignore[arg-type]


def of_type(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in cfn["Resources"].items() if v["Type"] == kind}


def websocket_api(cfn: dict[str, Any]) -> dict[str, Any]:
    """The template's one WebSocket API (the HTTP API is the other ApiGatewayV2::Api)."""
    apis = of_type(cfn, "AWS::ApiGatewayV2::Api").values()
    (api,) = [a for a in apis if a["Properties"].get("ProtocolType") == "WEBSOCKET"]
    return api


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_there_is_a_template() -> None:
    """deploy/ holds at least template.yaml."""
    assert DEPLOY / "template.yaml" in TEMPLATES


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_cfn_lint_is_clean(path: Path) -> None:
    """cfn-lint finds nothing in the template."""
    assert [str(m) for m in lint_file(path)] == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_api_is_a_websocket_api_routed_by_action(path: Path) -> None:
    """WEBSOCKET protocol, $request.body.action, and $connect/$disconnect/$default to Lambda."""
    cfn = transformed(path)
    api = websocket_api(cfn)
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"
    found = of_type(cfn, "AWS::ApiGatewayV2::Route").values()
    routes = {r["Properties"]["RouteKey"] for r in found}
    assert routes == {"$connect", "$disconnect", "$default"}
    (integration,) = of_type(cfn, "AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_tables_match_the_code_keys_indexes_and_ttl(path: Path) -> None:
    """Each table is the code's CreateTable spec under the stack prefix, TTL attribute included."""
    cfn = transformed(path)
    tables = of_type(cfn, "AWS::DynamoDB::Table")
    by_short = {}
    for table in tables.values():
        name = table["Properties"]["TableName"]["Fn::Sub"]
        assert name.startswith("${AWS::StackName}-")
        by_short[name.removeprefix("${AWS::StackName}-")] = table["Properties"]
    assert set(by_short) == set(CODE_TABLES)
    for short, shape in CODE_TABLES.items():
        props, spec = by_short[short], table_spec(short, shape)
        for key in ("KeySchema", "AttributeDefinitions", "BillingMode"):
            assert props[key] == spec[key], (short, key)
        assert props.get("GlobalSecondaryIndexes") == spec.get("GlobalSecondaryIndexes"), short
        ttl = props.get("TimeToLiveSpecification")
        expected = {"AttributeName": shape.ttl, "Enabled": True} if shape.ttl else None
        assert ttl == expected, short


def resolved(node: Any, conditions: dict[str, bool]) -> Any:
    """``node`` with each ``Fn::If`` chosen by ``conditions`` and ``AWS::NoValue`` dropped."""
    if isinstance(node, dict):
        if "Fn::If" in node:
            name, yes, no = node["Fn::If"]
            return resolved(yes if conditions[name] else no, conditions)
        return {k: resolved(v, conditions) for k, v in node.items()}
    if isinstance(node, list):
        items = (resolved(item, conditions) for item in node)
        return [item for item in items if item != {"Ref": "AWS::NoValue"}]
    return node


def statements(
    cfn: dict[str, Any], function: str, *, knowledge_base: bool = False
) -> list[dict[str, Any]]:
    role = cfn["Resources"][f"{function}Role"]["Properties"]
    conditions = {"HasKnowledgeBase": knowledge_base, "HasAuthorizer": False}
    found = []
    for policy in role.get("Policies", []):
        found.extend(resolved(policy["PolicyDocument"]["Statement"], conditions))
    return found


def actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_iam_is_least_privilege(path: Path) -> None:
    """ManageConnections on this API only, Bedrock streaming, the tables, and nothing with '*'."""
    cfn = transformed(path)
    found = statements(cfn, "WebSocketFunction")
    granted = set().union(*(actions(s) for s in found))
    assert {"execute-api:ManageConnections", "bedrock:InvokeModelWithResponseStream"} <= granted
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= granted
    assert not any(a.endswith(":*") or a == "*" for a in granted)
    manage = [s for s in found if "execute-api:ManageConnections" in actions(s)]
    assert "${WebSocketApi}/${StageName}/" in json.dumps(manage)
    assert "bedrock:Retrieve" not in granted  # only with a knowledge base
    with_kb = statements(cfn, "WebSocketFunction", knowledge_base=True)
    assert "bedrock:Retrieve" in set().union(*(actions(s) for s in with_kb))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_function_runs_the_adapter_with_the_stacks_store(path: Path) -> None:
    """python3.12, the adapter's handler, the store prefix the tables use, async run launch."""
    cfn = transformed(path)
    fn = cfn["Resources"]["WebSocketFunction"]["Properties"]
    assert fn["Runtime"] == "python3.12" and fn["Handler"] == "agentstream.aws.handler.handler"
    env = fn["Environment"]["Variables"]
    assert env["AGENTSTREAM_STORE"] == {"Fn::Sub": "dynamodb://?prefix=${AWS::StackName}-"}
    assert env["AGENTSTREAM_LAUNCH"] == "lambda"
    assert fn["Timeout"] > 29


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_outputs_give_the_wss_url_with_the_stage(path: Path) -> None:
    """The WebSocketURL output is wss://{api}.execute-api.{region}.amazonaws.com/{stage}."""
    url = transformed(path)["Outputs"]["WebSocketURL"]["Value"]["Fn::Sub"]
    assert url.startswith("wss://${WebSocketApi}.execute-api.") and url.endswith("/${StageName}")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_authorizer_exists_only_with_a_secret(path: Path) -> None:
    """JwtSecret set: a REQUEST authorizer on $connect reading ?token=; else none."""
    cfn = transformed(path)
    (authorizer,) = of_type(cfn, "AWS::ApiGatewayV2::Authorizer").values()
    assert authorizer["Condition"] == "HasAuthorizer"
    assert authorizer["Properties"]["AuthorizerType"] == "REQUEST"
    assert authorizer["Properties"]["IdentitySource"] == ["route.request.querystring.token"]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_same_function_serves_the_http_api(path: Path) -> None:
    """An HTTP API route POST /invoke integrates the WebSocket function (one handler, two APIs)."""
    cfn = transformed(path)
    assert websocket_api(cfn)
    body = json.dumps(cfn["Resources"]["ServerlessHttpApi"]["Properties"]["Body"])
    assert '"/invoke"' in body and "WebSocketFunction.Arn" in body
