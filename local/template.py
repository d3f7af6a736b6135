"""template.yaml, read the way CloudFormation + SAM would, with local physical values.

`LocalTemplate` is the only place the local stack learns what exists: tables, queues, secrets,
functions, API routes and event sources all come from here, so the template stays the one source
of truth. It understands what template.yaml uses and nothing more: the intrinsics Ref, Fn::GetAtt,
Fn::Sub (string form), Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Split, resource Conditions,
parameters (with their constraints), SAM's Function Globals.
Anything else fails loudly (an unknown YAML tag, a TemplateError) instead of running unlike AWS.

Not cfn-lint's decoder (moto[server] installs cfn-lint): importing it takes 1.5-2 s, at every start
and in every test process, to replace the 25-line YAML loader below. Not samtranslator: its output
(event source mappings, a generated RestApi's swagger, Events rules) is no shorter to read than the
SAM events, and it wants S3 code locations and an IAM managed-policy map a local run does not have.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from local.settings import DEFAULT_REGION, LOCAL_ACCOUNT_ID, LOCAL_STACK_NAME, TEMPLATE_PATH

UNRESOLVED_PREFIX = "local-unresolved:"


class TemplateError(ValueError):
    """The template says something the local stack cannot run."""


_SHORT_FORMS = ("Ref", "GetAtt", "Sub", "If", "Equals", "Not", "And", "Split")  # what template.yaml uses


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that turns the short-form tags template.yaml uses (!Ref, !GetAtt, ...) into long form."""


def _long_form(key: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if key == "Fn::GetAtt":
                value = value.split(".", 1)  # !GetAtt Queue.Arn -> [Queue, Arn]
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _name in _SHORT_FORMS:
    CloudFormationLoader.add_constructor(f"!{_name}", _long_form(_name if _name == "Ref" else f"Fn::{_name}"))


def parse_yaml(text: str) -> Any:
    """YAML with CloudFormation short-form tags, in long form."""
    return yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass


def load_document(path: Path | str = TEMPLATE_PATH) -> dict:
    document = parse_yaml(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return document


def local_name(logical_id: str) -> str:
    return f"{LOCAL_STACK_NAME}-{logical_id}"


def unresolved(name: str) -> str:
    """What a reference to something with nothing local behind it (an alarm, a KMS key) resolves to."""
    return UNRESOLVED_PREFIX + name


@dataclass(frozen=True)
class Physical:
    """What Ref and Fn::GetAtt return for one resource locally."""

    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


def default_physical(logical_id: str, kind: str, *, region: str, aws_endpoint: str) -> Physical:
    """The ids the local stack will create (tables, queues, the bus) or predict (replaced once created)."""
    name, arn = local_name(logical_id), f"arn:aws:{{}}:{region}:{LOCAL_ACCOUNT_ID}:{{}}"
    if kind == "AWS::DynamoDB::Table":
        table_arn = arn.format("dynamodb", f"table/{name}")
        return Physical(name, {"Arn": table_arn, "StreamArn": f"{table_arn}/stream/local"})
    if kind == "AWS::SQS::Queue":
        url = f"{aws_endpoint}/{LOCAL_ACCOUNT_ID}/{name}"  # the form moto server answers with
        return Physical(url, {"Arn": arn.format("sqs", name), "QueueName": name, "QueueUrl": url})
    if kind == "AWS::SecretsManager::Secret":  # moto appends a random suffix: the stack passes the real ARN
        secret_arn = arn.format("secretsmanager", f"secret:{name}")
        return Physical(secret_arn, {"Id": secret_arn})
    if kind == "AWS::Events::EventBus":
        return Physical(name, {"Arn": arn.format("events", f"event-bus/{name}"), "Name": name})
    if kind == "AWS::Serverless::Function":
        return Physical(name, {"Arn": arn.format("lambda", f"function:{name}")})
    return Physical(unresolved(logical_id))


def _scalar_text(value: Any) -> str:
    """CloudFormation's string form of a scalar (booleans lower-case, as in env variables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _truthy(value: Any) -> bool:
    return _scalar_text(value).lower() == "true"


def _target(value: Any) -> str | None:
    """The logical id a raw `!Ref X` or `!GetAtt X.Attribute` names."""
    if isinstance(value, dict) and len(value) == 1:
        return value.get("Ref") or (value.get("Fn::GetAtt") or [None])[0]
    return None


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Evaluates the template's intrinsic functions against local values."""

    def __init__(
        self, document: Mapping, parameters: Mapping[str, str], physical: Mapping[str, Physical], *, region: str
    ):
        self._condition_specs = document.get("Conditions") or {}
        self._conditions: dict[str, bool] = {}
        self._physical = physical
        self._values = {
            "AWS::Region": region,
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": LOCAL_STACK_NAME,
            "AWS::Partition": "aws",
            **parameters,
        }
        self._functions = {
            "Ref": self.ref,
            "Fn::GetAtt": lambda argument: self.get_att(*argument),
            "Fn::Sub": self._sub,
            "Fn::If": lambda argument: self.resolve(argument[1] if self.condition(argument[0]) else argument[2]),
            "Fn::Equals": lambda argument: self.resolve_text(argument[0]) == self.resolve_text(argument[1]),
            "Fn::Not": lambda argument: not self.resolve(argument[0]),
            "Fn::And": lambda argument: all(self.resolve(item) for item in argument),
            "Fn::Split": lambda argument: self.resolve_text(argument[1]).split(argument[0]),
        }

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated."""
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if key in self._functions:
                    return self._functions[key](argument)
                if key.startswith("Fn::"):
                    raise TemplateError(f"{key} is not supported by the local stack")
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def resolve_text(self, value: Any) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, dict | list):
            raise TemplateError(f"expected a string, got {resolved!r}")
        return _scalar_text(resolved)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:  # an unknown one is a KeyError
            self._conditions[name] = bool(self.resolve(self._condition_specs[name]))
        return self._conditions[name]

    def ref(self, name: str) -> str:
        if name in self._values:
            return self._values[name]
        if name in self._physical:
            return self._physical[name].ref
        return unresolved(name)  # e.g. resources SAM generates (MerchantApiApiKey)

    def get_att(self, logical_id: str, attribute: str) -> str:
        attributes = self._physical[logical_id].attributes if logical_id in self._physical else {}
        return attributes.get(attribute) or unresolved(f"{logical_id}.{attribute}")

    def _sub(self, text: str) -> str:  # the string form only: a variable map fails in re.sub
        def substitute(match: re.Match) -> str:
            name = match.group(1)
            if "." in name and name not in self._values:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return _SUB_VARIABLE.sub(substitute, text)


def _parameter_values(declared: Mapping[str, Mapping], overrides: Mapping[str, str]) -> dict[str, str]:
    """Each declared parameter's local value or Default, refused at load where CloudFormation would refuse it."""
    unknown = set(overrides) - set(declared)
    if unknown:
        raise TemplateError(f"the template declares no parameter {', '.join(sorted(unknown))}")
    values = {name: _scalar_text(overrides.get(name, spec.get("Default", ""))) for name, spec in declared.items()}
    for name, text in values.items():
        spec, allowed = declared[name], [_scalar_text(value) for value in declared[name].get("AllowedValues", [])]
        fits = (not allowed or text in allowed) and re.fullmatch(spec.get("AllowedPattern") or "(?s:.*)", text)
        if spec.get("Type") == "Number":
            number = float(text) if re.fullmatch(r"-?\d+(\.\d+)?", text) else math.nan  # nan: outside any bounds
            fits = fits and float(spec.get("MinValue", -math.inf)) <= number <= float(spec.get("MaxValue", math.inf))
        if not fits:
            raise TemplateError(f"parameter {name}={text!r} is not a value the template allows")
    return values


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    create_kwargs: dict  # boto3 dynamodb.create_table(**create_kwargs)
    ttl_attribute: str | None  # enable with update_time_to_live once the table is ACTIVE


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str
    attributes: dict[str, str]  # boto3 sqs.create_queue(Attributes=...)
    depends_on: tuple[str, ...]  # its dead-letter queue, which must exist first


@dataclass(frozen=True)
class SecretSpec:
    logical_id: str
    name: str
    description: str


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    function_name: str
    code_dir: Path
    handler: str  # "module.function", imported from code_dir
    runtime: str
    timeout: int  # seconds
    memory_size: int  # MB
    environment: dict[str, str]  # Globals + function variables, resolved; the function's wins
    layer_dirs: tuple[Path, ...]


@dataclass(frozen=True)
class ApiRoute:
    method: str  # upper case; ANY matches every method
    path: str  # API Gateway resource path, e.g. /inventories/{returnInventoryId}
    function_id: str
    event_name: str
    api_id: str  # logical id of the AWS::Serverless::Api
    stage: str
    api_key_required: bool
    authorizer: str | None = None  # "AWS_IAM": SigV4 (execute-api) instead of a key


@dataclass(frozen=True)
class SqsEventSource:
    function_id: str
    event_name: str
    queue_id: str
    queue_url: str
    batch_size: int
    maximum_batching_window_seconds: int
    function_response_types: tuple[str, ...]
    enabled: bool


@dataclass(frozen=True)
class DynamoDBEventSource:
    function_id: str
    event_name: str
    table_id: str
    stream_arn: str
    starting_position: str  # TRIM_HORIZON (the only one that runs locally)
    batch_size: int
    maximum_batching_window_seconds: int
    maximum_retry_attempts: int  # -1: until the record expires (Lambda's default)
    bisect_batch_on_function_error: bool
    function_response_types: tuple[str, ...]
    on_failure_queue_id: str | None  # DestinationConfig.OnFailure, a queue of this template
    enabled: bool
    filter_patterns: tuple[str, ...] = ()  # FilterCriteria: a record is delivered when one matches


@dataclass(frozen=True)
class ScheduleEvent:
    function_id: str
    event_name: str
    expression: str
    enabled: bool
    input: str | None


def _merge_globals(global_props: Mapping, props: Mapping) -> dict:
    """SAM Globals: maps merge (the resource wins), lists are appended after the Globals' entries."""
    merged = dict(global_props)
    for key, value in props.items():
        base = merged.get(key)
        intrinsic = isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::"))
        if isinstance(base, dict) and isinstance(value, dict) and not intrinsic:
            merged[key] = _merge_globals(base, value)
        else:
            merged[key] = base + value if isinstance(base, list) and isinstance(value, list) else value
    return merged


def _as_int(value: Any) -> int:
    return int(float(_scalar_text(value)))


def _mapping_settings(props: Mapping, *, default_batch_size: int) -> dict[str, Any]:
    """What SQS and DynamoDB event source mappings share, with Lambda's defaults."""
    return {
        "batch_size": _as_int(props.get("BatchSize", default_batch_size)),
        "maximum_batching_window_seconds": _as_int(props.get("MaximumBatchingWindowInSeconds", 0)),
        "function_response_types": tuple(props.get("FunctionResponseTypes") or ()),
        "enabled": _truthy(props.get("Enabled", True)),
    }


class LocalTemplate:
    """template.yaml with local values: the typed views the local stack runs from."""

    def __init__(
        self,
        document: Mapping,
        base_dir: Path | str,
        *,
        parameter_overrides: Mapping[str, str] | None = None,
        region: str = DEFAULT_REGION,
        aws_endpoint: str = "http://127.0.0.1:5000",
    ) -> None:
        self.document, self.base_dir, self.region = document, Path(base_dir), region
        self.parameters = _parameter_values(document.get("Parameters") or {}, parameter_overrides or {})
        self.physical = {
            logical_id: default_physical(logical_id, resource.get("Type"), region=region, aws_endpoint=aws_endpoint)
            for logical_id, resource in document["Resources"].items()
        }
        self.resolver = Resolver(document, self.parameters, self.physical, region=region)

    @classmethod
    def load(cls, path: Path | str = TEMPLATE_PATH, **kwargs: Any) -> LocalTemplate:
        return cls(load_document(path), Path(path).parent, **kwargs)

    def with_physical(self, overrides: Mapping[str, Physical]) -> LocalTemplate:
        """The same template once real local ids are known (e.g. the secret ARN moto generated)."""
        updated = copy.copy(self)
        updated.physical = {**self.physical, **overrides}
        updated.resolver = Resolver(self.document, self.parameters, updated.physical, region=self.region)
        return updated

    def resources(self, kind: str) -> dict[str, dict]:
        """Resources of this type whose Condition (if any) holds, in template order."""
        return {
            logical_id: resource
            for logical_id, resource in self.document["Resources"].items()
            if resource.get("Type") == kind
            and ("Condition" not in resource or self.resolver.condition(resource["Condition"]))
        }

    def output(self, name: str) -> Any:
        return self.resolver.resolve(self.document["Outputs"][name]["Value"])

    def _properties(self, resource: Mapping) -> dict:
        return self.resolver.resolve(resource.get("Properties") or {})

    def tables(self) -> list[TableSpec]:
        specs = []
        for logical_id, resource in self.resources("AWS::DynamoDB::Table").items():
            props, name = self._properties(resource), self.physical[logical_id].ref
            if props.get("BillingMode") != "PAY_PER_REQUEST":
                raise TemplateError(f"{logical_id}: only PAY_PER_REQUEST tables run locally")
            kwargs: dict[str, Any] = {"TableName": name, "BillingMode": "PAY_PER_REQUEST"}
            kwargs.update({key: props[key] for key in ("KeySchema", "AttributeDefinitions")})
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = [
                    {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
                    for index in props["GlobalSecondaryIndexes"]
                ]
            view = (props.get("StreamSpecification") or {}).get("StreamViewType")
            if view:
                kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
            ttl = props.get("TimeToLiveSpecification") or {}
            specs.append(
                TableSpec(logical_id, name, kwargs, ttl["AttributeName"] if _truthy(ttl.get("Enabled")) else None)
            )
        return specs

    def queues(self) -> list[QueueSpec]:
        """Queues in creation order: dead-letter queues (which redrive nowhere) before the queues using them."""
        specs = []
        for logical_id, resource in self.resources("AWS::SQS::Queue").items():
            props = self._properties(resource)
            attributes = {
                key: _scalar_text(props[key]) for key in ("VisibilityTimeout", "MessageRetentionPeriod") if key in props
            }
            dead_letter_queue = _target(
                ((resource.get("Properties") or {}).get("RedrivePolicy") or {}).get("deadLetterTargetArn")
            )
            if "RedrivePolicy" in props:
                attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
            name = self.physical[logical_id].attributes["QueueName"]
            specs.append(QueueSpec(logical_id, name, attributes, (dead_letter_queue,) if dead_letter_queue else ()))
        return sorted(specs, key=lambda spec: bool(spec.depends_on))

    def secrets(self) -> list[SecretSpec]:
        return [
            SecretSpec(
                logical_id, local_name(logical_id), str(self._properties(resource).get("Description", "")).strip()
            )
            for logical_id, resource in self.resources("AWS::SecretsManager::Secret").items()
        ]

    def event_buses(self) -> list[str]:
        """The names of the template's own buses."""
        return [self.physical[logical_id].ref for logical_id in self.resources("AWS::Events::EventBus")]

    def functions(self) -> dict[str, FunctionSpec]:
        global_props = (self.document.get("Globals") or {}).get("Function") or {}
        functions = {}
        for logical_id, resource in self.resources("AWS::Serverless::Function").items():
            raw = _merge_globals(global_props, resource.get("Properties") or {})
            variables = self.resolver.resolve((raw.get("Environment") or {}).get("Variables") or {})
            functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                function_name=self.physical[logical_id].ref,
                code_dir=(self.base_dir / self.resolver.resolve_text(raw["CodeUri"])).resolve(),
                handler=self.resolver.resolve_text(raw.get("Handler", "")),  # a bad one fails the worker's init
                runtime=self.resolver.resolve_text(raw.get("Runtime", "")),
                timeout=_as_int(self.resolver.resolve(raw.get("Timeout", 3))),  # SAM's defaults: 3 s, 128 MB
                memory_size=_as_int(self.resolver.resolve(raw.get("MemorySize", 128))),
                environment={key: _scalar_text(value) for key, value in variables.items()},
                layer_dirs=tuple(self._layer_dir(logical_id, layer) for layer in raw.get("Layers") or []),
            )
        return functions

    def _layer_dir(self, function_id: str, layer: Any) -> Path:
        """A layer's code directory; only layers declared in this template can run locally."""
        resource = self.resources("AWS::Serverless::LayerVersion").get(_target(layer) or "")
        if resource is None:
            raise TemplateError(f"{function_id}: layer {layer!r} is not an AWS::Serverless::LayerVersion here")
        return (self.base_dir / self.resolver.resolve_text(resource["Properties"]["ContentUri"])).resolve()

    def _events(self, kind: str) -> Iterator[tuple[str, str, dict, dict]]:
        """(function id, event name, raw properties, resolved properties) of each event of this type."""
        for function_id, resource in self.resources("AWS::Serverless::Function").items():
            for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
                if event.get("Type") == kind:
                    raw = event.get("Properties") or {}
                    yield function_id, event_name, raw, self.resolver.resolve(raw)

    def _logical_id(self, kind: str, where: str, raw: Any) -> str:
        """The resource of this template a raw !Ref / !GetAtt names, which must be of this type."""
        logical_id = _target(raw)
        if logical_id not in self.resources(kind):
            raise TemplateError(f"{where}: {raw!r} is not an {kind} of this template")
        return logical_id

    def api_routes(self) -> list[ApiRoute]:
        routes = []
        for function_id, event_name, raw, props in self._events("Api"):
            api_id = self._logical_id("AWS::Serverless::Api", f"{function_id}.{event_name}", raw.get("RestApiId"))
            api = self.document["Resources"][api_id]["Properties"]
            auth = {**self.resolver.resolve(api.get("Auth") or {}), **(props.get("Auth") or {})}
            authorizer = {None: None, "NONE": None, "AWS_IAM": "AWS_IAM"}.get(auth.get("Authorizer"), "unsupported")
            if authorizer == "unsupported":
                raise TemplateError(f"{function_id}.{event_name}: only the AWS_IAM authorizer runs locally")
            method, path = str(props["Method"]).upper(), "/" + str(props["Path"]).strip("/")
            stage, key_required = self.resolver.resolve_text(api["StageName"]), _truthy(auth.get("ApiKeyRequired"))
            routes.append(ApiRoute(method, path, function_id, event_name, api_id, stage, key_required, authorizer))
        return routes

    def sqs_event_sources(self) -> list[SqsEventSource]:
        sources = []
        for function_id, event_name, raw, props in self._events("SQS"):
            queue_id = self._logical_id("AWS::SQS::Queue", f"{function_id}.{event_name}", raw.get("Queue"))
            settings = _mapping_settings(props, default_batch_size=10)
            sources.append(SqsEventSource(function_id, event_name, queue_id, self.physical[queue_id].ref, **settings))
        return sources

    def dynamodb_event_sources(self) -> list[DynamoDBEventSource]:
        sources = []
        for function_id, event_name, raw, props in self._events("DynamoDB"):
            where = f"{function_id}.{event_name}"
            on_failure = ((raw.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            if props.get("StartingPosition") != "TRIM_HORIZON":  # what the template uses, and all the poller does
                raise TemplateError(f"{where}: only StartingPosition TRIM_HORIZON runs locally")
            sources.append(
                DynamoDBEventSource(
                    function_id=function_id,
                    event_name=event_name,
                    table_id=self._logical_id("AWS::DynamoDB::Table", where, raw.get("Stream")),
                    stream_arn=str(props["Stream"]),
                    starting_position="TRIM_HORIZON",
                    maximum_retry_attempts=_as_int(props.get("MaximumRetryAttempts", -1)),
                    bisect_batch_on_function_error=_truthy(props.get("BisectBatchOnFunctionError", False)),
                    on_failure_queue_id=self._logical_id("AWS::SQS::Queue", where, on_failure) if on_failure else None,
                    filter_patterns=tuple(
                        str(f["Pattern"]) for f in (props.get("FilterCriteria") or {}).get("Filters", [])
                    ),
                    **_mapping_settings(props, default_batch_size=100),
                )
            )
        return sources

    def schedules(self) -> list[ScheduleEvent]:
        """The `Schedule` events (EventBridge rules): State ENABLED|DISABLED, optional Input."""
        return [
            ScheduleEvent(
                function_id,
                event_name,
                str(props["Schedule"]),
                str(props.get("State", "ENABLED")).upper() == "ENABLED",
                props.get("Input"),
            )
            for function_id, event_name, _, props in self._events("Schedule")
        ]
