"""template.yaml, read the way CloudFormation + SAM would, with local physical values.

`LocalTemplate` is the only place the local stack learns what exists: tables,
queues, secrets, functions, API routes and event sources all come from here, so
the template stays the one source of truth. Intrinsic functions are evaluated by
`Resolver` against parameters (template defaults, then local overrides),
conditions, pseudo parameters and local physical ids ("rh-local-<LogicalId>").
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from local.settings import DEFAULT_REGION, LOCAL_ACCOUNT_ID, LOCAL_STACK_NAME, TEMPLATE_PATH

UNRESOLVED_PREFIX = "local-unresolved:"
LOCAL_NAME_PREFIX = f"{LOCAL_STACK_NAME}-"
IMPLICIT_API_ID = "ServerlessRestApi"  # SAM's implicit API for Api events without RestApiId
IMPLICIT_API_STAGE = "Prod"
SAM_DEFAULT_TIMEOUT = 3
SAM_DEFAULT_MEMORY_SIZE = 128


class TemplateError(ValueError):
    """The template says something the local stack cannot run."""


# ------------------------------------------------------------------ YAML loading

_FN_TAGS = (
    "Sub",
    "If",
    "Equals",
    "Join",
    "Select",
    "Split",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "Base64",
    "GetAZs",
    "ImportValue",
    "Cidr",
    "Transform",
    "Length",
)


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short-form tags (!Ref, !GetAtt, ...) into long form."""


def _construct_plain(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _construct_ref(loader: yaml.SafeLoader, node: yaml.Node) -> dict:
    return {"Ref": _construct_plain(loader, node)}


def _construct_condition(loader: yaml.SafeLoader, node: yaml.Node) -> dict:
    return {"Condition": _construct_plain(loader, node)}


def _construct_getatt(loader: yaml.SafeLoader, node: yaml.Node) -> dict:
    value = _construct_plain(loader, node)
    if isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        value = [logical_id, attribute]
    return {"Fn::GetAtt": value}


def _fn_constructor(name: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict:
        return {f"Fn::{name}": _construct_plain(loader, node)}

    return construct


CloudFormationLoader.add_constructor("!Ref", _construct_ref)
CloudFormationLoader.add_constructor("!Condition", _construct_condition)
CloudFormationLoader.add_constructor("!GetAtt", _construct_getatt)
for _name in _FN_TAGS:
    CloudFormationLoader.add_constructor(f"!{_name}", _fn_constructor(_name))


def parse_yaml(text: str) -> Any:
    """YAML with CloudFormation short-form tags, in long form."""
    return yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass


def load_document(path: Path | str = TEMPLATE_PATH) -> dict:
    document = parse_yaml(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return document


# ------------------------------------------------------------------ physical values


def local_name(logical_id: str) -> str:
    return LOCAL_NAME_PREFIX + logical_id


def unresolved(logical_id: str) -> str:
    return UNRESOLVED_PREFIX + logical_id


@dataclass(frozen=True)
class Physical:
    """What Ref and Fn::GetAtt return for one resource locally."""

    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


def default_physical(
    logical_id: str, resource: Mapping, *, region: str, account_id: str, aws_endpoint: str
) -> Physical:
    kind = resource.get("Type")
    arn = f"arn:aws:{{}}:{region}:{account_id}:{{}}"
    name = local_name(logical_id)
    if kind == "AWS::DynamoDB::Table":
        table_arn = arn.format("dynamodb", f"table/{name}")
        return Physical(name, {"Arn": table_arn, "StreamArn": f"{table_arn}/stream/local"})
    if kind == "AWS::SQS::Queue":
        if _truthy((resource.get("Properties") or {}).get("FifoQueue")):
            name += ".fifo"
        url = f"{aws_endpoint}/{account_id}/{name}"  # the form moto server answers with
        return Physical(url, {"Arn": arn.format("sqs", name), "QueueName": name, "QueueUrl": url})
    if kind == "AWS::SecretsManager::Secret":
        # moto appends a random suffix; the stack replaces this with the ARN it created.
        secret_arn = arn.format("secretsmanager", f"secret:{name}")
        return Physical(secret_arn, {"Id": secret_arn})
    if kind == "AWS::Events::EventBus":
        return Physical(name, {"Arn": arn.format("events", f"event-bus/{name}"), "Name": name})
    if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
        return Physical(name, {"Arn": arn.format("lambda", f"function:{name}")})
    return Physical(unresolved(logical_id))


# ------------------------------------------------------------------ intrinsic functions

NO_VALUE = object()  # AWS::NoValue: the property is removed


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def _scalar_text(value: Any) -> str:
    """CloudFormation's string form of a scalar (booleans lower-case, as in env variables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _intrinsic(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
            return key, argument
    return None


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Evaluates CloudFormation intrinsic functions against local values."""

    def __init__(
        self,
        document: Mapping,
        parameters: Mapping[str, Any],
        physical: Mapping[str, Physical],
        *,
        region: str,
        account_id: str = LOCAL_ACCOUNT_ID,
    ) -> None:
        self._document = document
        self._parameters = parameters
        self._physical = physical
        self._pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": LOCAL_STACK_NAME,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{LOCAL_STACK_NAME}/local",
            "AWS::Partition": "aws",
            "AWS::NotificationARNs": [],
        }
        self._region = region
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()

    # -- public

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic evaluated; AWS::NoValue entries dropped."""
        intrinsic = _intrinsic(value)
        if intrinsic:
            return self._evaluate(*intrinsic)
        if isinstance(value, dict):
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not NO_VALUE]
        return value

    def resolve_text(self, value: Any) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, (dict, list)):
            raise TemplateError(f"expected a string, got {resolved!r}")
        return _scalar_text(resolved)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self._document.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"unknown condition {name!r}")
            if name in self._evaluating:
                raise TemplateError(f"condition {name!r} refers to itself")
            self._evaluating.add(name)
            try:
                self._conditions[name] = bool(self.resolve(conditions[name]))
            finally:
                self._evaluating.discard(name)
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        if name in self._physical:
            return self._physical[name].ref
        # e.g. resources SAM generates (MerchantApiApiKey): nothing local stands behind them.
        return unresolved(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        physical = self._physical.get(logical_id)
        if physical is None or attribute not in physical.attributes:
            return unresolved(f"{logical_id}.{attribute}")
        return physical.attributes[attribute]

    # -- intrinsic functions

    def _evaluate(self, key: str, argument: Any) -> Any:
        if key == "Ref":
            return self.ref(argument)
        if key == "Condition":
            return self.condition(argument)
        handler = getattr(self, "_fn_" + key.removeprefix("Fn::").lower(), None)
        if handler is None:
            raise TemplateError(f"{key} is not supported by the local stack")
        return handler(argument)

    def _fn_getatt(self, argument: Any) -> str:
        logical_id, attribute = self.resolve(argument) if not isinstance(argument, str) else argument.split(".", 1)
        return self.get_att(logical_id, attribute)

    def _fn_sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], self.resolve(argument[1])
        else:
            text, variables = argument, {}

        def substitute(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _scalar_text(variables[name])
            if "." in name and name not in self._parameters:
                return self.get_att(*name.split(".", 1))
            return _scalar_text(self.ref(name))

        return _SUB_VARIABLE.sub(substitute, text)

    def _fn_if(self, argument: list) -> Any:
        name, if_true, if_false = argument
        return self.resolve(if_true if self.condition(name) else if_false)

    def _fn_equals(self, argument: list) -> bool:
        left, right = (self.resolve(item) for item in argument)
        return _scalar_text(left) == _scalar_text(right)

    def _fn_not(self, argument: list) -> bool:
        return not self.resolve(argument[0])

    def _fn_and(self, argument: list) -> bool:
        return all(self.resolve(item) for item in argument)

    def _fn_or(self, argument: list) -> bool:
        return any(self.resolve(item) for item in argument)

    def _fn_join(self, argument: list) -> str:
        delimiter, items = argument[0], self.resolve(argument[1])
        return delimiter.join(_scalar_text(item) for item in items)

    def _fn_select(self, argument: list) -> Any:
        index, items = self.resolve(argument[0]), self.resolve(argument[1])
        return items[int(index)]

    def _fn_split(self, argument: list) -> list[str]:
        delimiter, text = argument[0], self.resolve_text(argument[1])
        return text.split(delimiter)

    def _fn_findinmap(self, argument: list) -> Any:
        map_name, top, second = (self.resolve(item) for item in argument[:3])
        try:
            return self._document["Mappings"][map_name][top][second]
        except KeyError:
            raise TemplateError(f"Fn::FindInMap: no {map_name}/{top}/{second}") from None

    def _fn_base64(self, argument: Any) -> str:
        return base64.b64encode(self.resolve_text(argument).encode()).decode("ascii")

    def _fn_getazs(self, argument: Any) -> list[str]:
        region = self.resolve(argument) or self._region
        return [f"{region}{zone}" for zone in "abc"]

    def _fn_importvalue(self, argument: Any) -> str:
        return unresolved("ImportValue:" + self.resolve_text(argument))


def references(value: Any) -> Iterator[str]:
    """Logical ids (or parameter names) a raw template value refers to."""
    intrinsic = _intrinsic(value)
    if intrinsic:
        key, argument = intrinsic
        if key == "Ref" and isinstance(argument, str):
            yield argument
            return
        if key == "Fn::GetAtt":
            yield (argument.split(".", 1)[0] if isinstance(argument, str) else argument[0])
            return
        if key == "Fn::Sub":
            text = argument[0] if isinstance(argument, list) else argument
            for name in _SUB_VARIABLE.findall(text):
                if not name.startswith("!"):
                    yield name.split(".", 1)[0]
            if isinstance(argument, list):
                yield from references(argument[1])
            return
    if isinstance(value, dict):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


# ------------------------------------------------------------------ parameters


def _parameter_values(declared: Mapping[str, Mapping], overrides: Mapping[str, str]) -> dict[str, Any]:
    unknown = set(overrides) - set(declared)
    if unknown:
        raise TemplateError(f"the template declares no parameter {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in overrides:
            raw = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no Default and no local value")
        kind = str(spec.get("Type", "String"))
        if isinstance(raw, list):
            raw = ",".join(_scalar_text(item) for item in raw)
        text = _scalar_text(raw)
        _check_parameter(name, spec, kind, text)
        values[name] = text.split(",") if kind.startswith("List<") or kind == "CommaDelimitedList" else text
    return values


def _check_parameter(name: str, spec: Mapping, kind: str, text: str) -> None:
    """CloudFormation's parameter constraints, so a bad local value fails at start, not mid-request."""

    def fail(why: str) -> None:
        raise TemplateError(f"parameter {name}={text!r}: {why}")

    allowed = spec.get("AllowedValues")
    if allowed is not None and text not in [_scalar_text(item) for item in allowed]:
        fail(f"must be one of {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and kind == "String" and not re.fullmatch(pattern, text):
        fail(f"must match {pattern}")
    if kind == "Number":
        try:
            number = float(text)
        except ValueError:
            fail("must be a number")
        if "MinValue" in spec and number < float(spec["MinValue"]):
            fail(f"must be >= {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            fail(f"must be <= {spec['MaxValue']}")
    if kind == "String":
        if "MinLength" in spec and len(text) < int(spec["MinLength"]):
            fail(f"must be at least {spec['MinLength']} characters")
        if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
            fail(f"must be at most {spec['MaxLength']} characters")


# ------------------------------------------------------------------ typed views


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
    depends_on: tuple[str, ...]  # queues that must exist first (dead-letter targets)


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
    events: dict = field(default_factory=dict)  # resolved; see api_routes() etc. for typed views


@dataclass(frozen=True)
class ApiRoute:
    method: str  # upper case; ANY matches every method
    path: str  # API Gateway resource path, e.g. /inventories/{returnInventoryId}
    function_id: str
    event_name: str
    api_id: str  # logical id of the AWS::Serverless::Api (or SAM's implicit one)
    stage: str
    api_key_required: bool


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
    starting_position: str  # TRIM_HORIZON | LATEST
    batch_size: int
    maximum_batching_window_seconds: int
    maximum_retry_attempts: int  # -1: until the record expires (Lambda's default)
    bisect_batch_on_function_error: bool
    function_response_types: tuple[str, ...]
    on_failure_queue_id: str | None  # DestinationConfig.OnFailure, when it is a queue of this template
    enabled: bool
    filter_patterns: tuple[str, ...] = ()  # FilterCriteria: a record is delivered when one matches


@dataclass(frozen=True)
class EventBusSpec:
    logical_id: str
    name: str


@dataclass(frozen=True)
class ScheduleEvent:
    function_id: str
    event_name: str
    expression: str
    enabled: bool
    input: str | None


_QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "MaximumMessageSize",
    "FifoQueue",
    "ContentBasedDeduplication",
)
_QUEUE_JSON_ATTRIBUTES = ("RedrivePolicy", "RedriveAllowPolicy")


def _merge_globals(global_props: Mapping, props: Mapping) -> dict:
    """SAM Globals: maps merge (resource wins), lists are appended after the Globals' entries."""
    merged = dict(global_props)
    for key, value in props.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict) and _intrinsic(value) is None:
            merged[key] = _merge_globals(base, value)
        elif isinstance(base, list) and isinstance(value, list):
            merged[key] = base + value
        else:
            merged[key] = value
    return merged


def _as_int(value: Any) -> int:
    return int(float(_scalar_text(value)))


def _drop_empty(mapping: dict) -> dict:
    return {key: value for key, value in mapping.items() if value is not None}


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
        physical_overrides: Mapping[str, Physical] | None = None,
    ) -> None:
        self.document = document
        self.base_dir = Path(base_dir)
        self.region = region
        self.aws_endpoint = aws_endpoint
        self._overrides = dict(parameter_overrides or {})
        self._physical_overrides = dict(physical_overrides or {})
        self.parameters = _parameter_values(document.get("Parameters") or {}, self._overrides)
        physical = {
            logical_id: default_physical(
                logical_id, resource, region=region, account_id=LOCAL_ACCOUNT_ID, aws_endpoint=aws_endpoint
            )
            for logical_id, resource in document["Resources"].items()
        }
        physical.update(self._physical_overrides)
        self.physical = physical
        self.resolver = Resolver(document, self.parameters, physical, region=region)

    @classmethod
    def load(cls, path: Path | str = TEMPLATE_PATH, **kwargs: Any) -> LocalTemplate:
        path = Path(path)
        return cls(load_document(path), path.parent, **kwargs)

    def with_physical(self, overrides: Mapping[str, Physical]) -> LocalTemplate:
        """The same template once real local ids are known (e.g. the secret ARN moto generated)."""
        return LocalTemplate(
            self.document,
            self.base_dir,
            parameter_overrides=self._overrides,
            region=self.region,
            aws_endpoint=self.aws_endpoint,
            physical_overrides={**self._physical_overrides, **overrides},
        )

    @property
    def declared_parameters(self) -> frozenset[str]:
        return frozenset(self.document.get("Parameters") or {})

    # -- resources

    def resources(self, *types: str) -> dict[str, dict]:
        """Resources of these types whose Condition (if any) holds, in template order."""
        found = {}
        for logical_id, resource in self.document["Resources"].items():
            if resource.get("Type") not in types:
                continue
            if "Condition" in resource and not self.resolver.condition(resource["Condition"]):
                continue
            found[logical_id] = resource
        return found

    def _properties(self, resource: Mapping) -> dict:
        return self.resolver.resolve(resource.get("Properties") or {})

    def tables(self) -> list[TableSpec]:
        specs = []
        for logical_id, resource in self.resources("AWS::DynamoDB::Table").items():
            props = self._properties(resource)
            name = self.physical[logical_id].ref
            billing = props.get("BillingMode", "PROVISIONED")
            kwargs: dict[str, Any] = {
                "TableName": name,
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": billing,
            }
            if billing == "PROVISIONED":
                kwargs["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
            for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                if props.get(key):
                    kwargs[key] = [
                        _index(index, billing, with_throughput=key.startswith("Global")) for index in props[key]
                    ]
            stream = props.get("StreamSpecification")
            if stream and stream.get("StreamViewType"):
                kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
            ttl = props.get("TimeToLiveSpecification") or {}
            ttl_attribute = ttl.get("AttributeName") if _truthy(ttl.get("Enabled", False)) else None
            specs.append(TableSpec(logical_id, name, kwargs, ttl_attribute))
        return specs

    def queues(self) -> list[QueueSpec]:
        """Queues in creation order: a dead-letter queue before the queues that redrive to it."""
        resources = self.resources("AWS::SQS::Queue")
        specs: dict[str, QueueSpec] = {}
        for logical_id, resource in resources.items():
            props = self._properties(resource)
            attributes = {key: _scalar_text(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
            for key in _QUEUE_JSON_ATTRIBUTES:
                if key in props:
                    value = props[key]
                    attributes[key] = value if isinstance(value, str) else json.dumps(value)
            explicit = _as_list(resource.get("DependsOn") or [])
            referenced = set(references(resource.get("Properties") or {})) | set(explicit)
            depends_on = tuple(sorted(ref for ref in referenced if ref in resources and ref != logical_id))
            specs[logical_id] = QueueSpec(
                logical_id, self.physical[logical_id].attributes["QueueName"], attributes, depends_on
            )
        return _dependency_order(specs)

    def secrets(self) -> list[SecretSpec]:
        specs = []
        for logical_id, resource in self.resources("AWS::SecretsManager::Secret").items():
            props = self._properties(resource)
            specs.append(SecretSpec(logical_id, local_name(logical_id), str(props.get("Description", "")).strip()))
        return specs

    # -- functions

    def _globals(self, section: str) -> dict:
        return dict((self.document.get("Globals") or {}).get(section) or {})

    def functions(self) -> dict[str, FunctionSpec]:
        functions = {}
        for logical_id, resource in self.resources("AWS::Serverless::Function").items():
            raw = _merge_globals(self._globals("Function"), resource.get("Properties") or {})
            functions[logical_id] = self._function(logical_id, raw)
        return functions

    def _function(self, logical_id: str, raw: Mapping) -> FunctionSpec:
        code_uri = self.resolver.resolve(raw.get("CodeUri"))
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri must be a local directory to run locally")
        handler = self.resolver.resolve_text(raw.get("Handler", ""))
        if "." not in handler:
            raise TemplateError(f"{logical_id}: Handler must be module.function, got {handler!r}")
        variables = self.resolver.resolve((raw.get("Environment") or {}).get("Variables") or {})
        name = raw.get("FunctionName")
        return FunctionSpec(
            logical_id=logical_id,
            function_name=self.resolver.resolve_text(name) if name else self.physical[logical_id].ref,
            code_dir=(self.base_dir / code_uri).resolve(),
            handler=handler,
            runtime=self.resolver.resolve_text(raw.get("Runtime", "")),
            timeout=_as_int(self.resolver.resolve(raw.get("Timeout", SAM_DEFAULT_TIMEOUT))),
            memory_size=_as_int(self.resolver.resolve(raw.get("MemorySize", SAM_DEFAULT_MEMORY_SIZE))),
            environment={key: _scalar_text(value) for key, value in variables.items()},
            layer_dirs=tuple(self._layer_dir(logical_id, layer) for layer in raw.get("Layers") or []),
            events=self.resolver.resolve(raw.get("Events") or {}),
        )

    def _layer_dir(self, function_id: str, layer: Any) -> Path:
        """A layer's code directory; only layers declared in this template can run locally."""
        layer_id = next(iter(references(layer)), None)
        resource = self.document["Resources"].get(layer_id or "")
        if resource and resource.get("Type") == "AWS::Serverless::LayerVersion":
            content_uri = self.resolver.resolve((resource.get("Properties") or {}).get("ContentUri"))
            if isinstance(content_uri, str):
                return (self.base_dir / content_uri).resolve()
        raise TemplateError(f"{function_id}: layer {layer!r} is not a local AWS::Serverless::LayerVersion")

    def _events(self, *types: str) -> Iterator[tuple[str, str, dict]]:
        for function_id, resource in self.resources("AWS::Serverless::Function").items():
            for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
                if event.get("Type") in types:
                    yield function_id, event_name, event

    def api_routes(self) -> list[ApiRoute]:
        routes = []
        for function_id, event_name, event in self._events("Api"):
            raw = event.get("Properties") or {}
            api_id = next(iter(references(raw.get("RestApiId"))), None) if raw.get("RestApiId") else None
            api_props = self._api_properties(api_id)
            stage = self.resolver.resolve_text(api_props["StageName"]) if api_id else IMPLICIT_API_STAGE
            props = self.resolver.resolve(raw)
            event_auth = props.get("Auth") or {}
            if "ApiKeyRequired" in event_auth:
                key_required = _truthy(event_auth["ApiKeyRequired"])
            else:
                api_auth = self.resolver.resolve(api_props.get("Auth")) or {}
                key_required = _truthy(api_auth.get("ApiKeyRequired", False))
            method = str(props["Method"]).upper()
            routes.append(
                ApiRoute(
                    method,
                    "/" + str(props["Path"]).strip("/"),
                    function_id,
                    event_name,
                    api_id or IMPLICIT_API_ID,
                    stage,
                    key_required,
                )
            )
        return routes

    def _api_properties(self, api_id: str | None) -> dict:
        if api_id is None:
            return self._globals("Api")
        resource = self.resources("AWS::Serverless::Api").get(api_id)
        if resource is None:
            raise TemplateError(f"RestApiId {api_id!r} is not an AWS::Serverless::Api in this template")
        return _merge_globals(self._globals("Api"), resource.get("Properties") or {})

    def sqs_event_sources(self) -> list[SqsEventSource]:
        sources = []
        for function_id, event_name, event in self._events("SQS"):
            raw = event.get("Properties") or {}
            queue_id = self._queue_logical_id(function_id, raw.get("Queue"))
            props = self.resolver.resolve(raw)
            sources.append(
                SqsEventSource(
                    function_id=function_id,
                    event_name=event_name,
                    queue_id=queue_id,
                    queue_url=self.physical[queue_id].ref,
                    batch_size=_as_int(props.get("BatchSize", 10)),
                    maximum_batching_window_seconds=_as_int(props.get("MaximumBatchingWindowInSeconds", 0)),
                    function_response_types=tuple(props.get("FunctionResponseTypes") or ()),
                    enabled=_truthy(props.get("Enabled", True)),
                )
            )
        return sources

    def dynamodb_event_sources(self) -> list[DynamoDBEventSource]:
        sources = []
        tables = self.resources("AWS::DynamoDB::Table")
        for function_id, event_name, event in self._events("DynamoDB"):
            raw = event.get("Properties") or {}
            table_id = next((ref for ref in references(raw.get("Stream")) if ref in tables), None)
            if table_id is None:
                raise TemplateError(f"{function_id}.{event_name}: Stream is not a table of this template")
            props = self.resolver.resolve(raw)
            on_failure = ((raw.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            sources.append(
                DynamoDBEventSource(
                    function_id=function_id,
                    event_name=event_name,
                    table_id=table_id,
                    stream_arn=str(props["Stream"]),
                    starting_position=str(props.get("StartingPosition", "LATEST")),
                    batch_size=_as_int(props.get("BatchSize", 100)),
                    maximum_batching_window_seconds=_as_int(props.get("MaximumBatchingWindowInSeconds", 0)),
                    maximum_retry_attempts=_as_int(props.get("MaximumRetryAttempts", -1)),
                    bisect_batch_on_function_error=_truthy(props.get("BisectBatchOnFunctionError", False)),
                    function_response_types=tuple(props.get("FunctionResponseTypes") or ()),
                    on_failure_queue_id=(
                        self._queue_logical_id(function_id, on_failure) if on_failure is not None else None
                    ),
                    enabled=_truthy(props.get("Enabled", True)),
                    filter_patterns=tuple(
                        str(f["Pattern"]) for f in (props.get("FilterCriteria") or {}).get("Filters", [])
                    ),
                )
            )
        return sources

    def event_buses(self) -> list[EventBusSpec]:
        return [
            EventBusSpec(logical_id, self.physical[logical_id].ref)
            for logical_id in self.resources("AWS::Events::EventBus")
        ]

    def output(self, name: str) -> Any:
        return self.resolver.resolve(self.document["Outputs"][name]["Value"])

    def _queue_logical_id(self, function_id: str, raw_queue: Any) -> str:
        queues = self.resources("AWS::SQS::Queue")
        for ref in references(raw_queue):
            if ref in queues:
                return ref
        arn = self.resolver.resolve(raw_queue)
        for logical_id in queues:
            if self.physical[logical_id].attributes.get("Arn") == arn:
                return logical_id
        raise TemplateError(f"{function_id}: SQS event queue {raw_queue!r} is not a queue in this template")

    def schedules(self) -> list[ScheduleEvent]:
        schedules = []
        for function_id, event_name, event in self._events("Schedule", "ScheduleV2"):
            props = self.resolver.resolve(event.get("Properties") or {})
            expression = props.get("Schedule") or props.get("ScheduleExpression") or ""
            if "State" in props:
                enabled = str(props["State"]).upper() == "ENABLED"
            else:
                enabled = _truthy(props.get("Enabled", True))
            schedules.append(ScheduleEvent(function_id, event_name, str(expression), enabled, props.get("Input")))
        return schedules


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _throughput(value: Mapping | None) -> dict:
    value = value or {}
    return {
        "ReadCapacityUnits": _as_int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": _as_int(value.get("WriteCapacityUnits", 5)),
    }


def _index(index: Mapping, billing: str, *, with_throughput: bool) -> dict:
    spec = _drop_empty(
        {
            "IndexName": index["IndexName"],
            "KeySchema": index["KeySchema"],
            "Projection": index.get("Projection") or {"ProjectionType": "ALL"},
        }
    )
    if with_throughput and billing == "PROVISIONED":
        spec["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
    return spec


def _dependency_order(specs: Mapping[str, QueueSpec]) -> list[QueueSpec]:
    ordered: list[QueueSpec] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(logical_id: str) -> None:
        if logical_id in placed:
            return
        if logical_id in visiting:
            raise TemplateError(f"queue {logical_id} depends on itself")
        visiting.add(logical_id)
        for dependency in specs[logical_id].depends_on:
            place(dependency)
        visiting.discard(logical_id)
        placed.add(logical_id)
        ordered.append(specs[logical_id])

    for logical_id in specs:
        place(logical_id)
    return ordered
