"""JSON Schema (draft 7) of the normalized event, derived from the field declarations plus the
contract's required fields and enumerations (interfaces.md)."""

from __future__ import annotations

from typing import Any

from schemas import declared_fields

_IP = {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"}
_SCALAR = {"type": ["string", "number", "boolean"]}
_LEAF: dict[str, Any] = {
    "keyword": _SCALAR, "constant_keyword": _SCALAR, "wildcard": _SCALAR, "text": _SCALAR,
    "match_only_text": _SCALAR, "ip": _IP, "date": _DATE, "date_nanos": _DATE, "long": {"type": "integer"},
    "integer": {"type": "integer"}, "float": {"type": "number"}, "double": {"type": "number"},
    "scaled_float": {"type": "number"}, "boolean": {"type": "boolean"}, "flattened": {"type": "object"},
    "object": {"type": "object"},
    "geo_point": {"type": "object", "required": ["lat", "lon"],
                  "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
}


def _many(schema: dict[str, Any]) -> dict[str, Any]:
    # Every Elasticsearch field may hold one value or an array of them.
    return {"anyOf": [schema, {"type": "array", "items": schema}]}


def _tree() -> dict[str, Any]:
    root: dict[str, Any] = {}
    for name, field in declared_fields().items():
        node = root
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            node = node.setdefault("__children__", {})
        node.setdefault(parts[-1], {})["__leaf__"] = field.get("type", "keyword")
    return root


def _define(node: dict[str, Any], path: str, defs: dict[str, Any]) -> dict[str, Any]:
    """Properties of `node`; each object below is defined once in `defs` and referenced, so the
    schema grows with the number of fields, not with 2 ** depth."""
    props: dict[str, Any] = {}
    for key, child in node.items():
        if "__leaf__" in child:
            props[key] = _many(_LEAF[child["__leaf__"]])
            continue
        sub = f"{path}.{key}" if path else key
        ref = {"$ref": f"#/definitions/{sub}"}
        # One object or an array of them (Elasticsearch flattens both the same way).
        defs[sub] = {"type": ["object", "array"], "properties": _define(child["__children__"], sub, defs),
                     "items": ref}
        props[key] = ref
    return props


def event_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    props = _define(_tree(), "", defs)
    schema: dict[str, Any] = {"type": "object", "properties": props, "definitions": defs}
    event = defs["event"]
    event["required"] = ["id", "kind", "category", "type", "action", "outcome", "dataset", "ingested"]
    ep = event["properties"]
    ep["kind"] = {"enum": ["event", "alert", "state", "metric", "signal", "pipeline_error", "enrichment"]}
    ep["outcome"] = {"enum": ["success", "failure", "unknown"]}
    ep["category"] = {"type": "array", "items": {"type": "string"}}
    ep["type"] = {"type": "array", "items": {"type": "string"}}
    ep["id"] = {"type": "string", "minLength": 1}
    ep["dataset"] = {"type": "string", "minLength": 1}
    props["event"] = {"allOf": [{"type": "object"}, {"$ref": "#/definitions/event"}]}
    props["@timestamp"] = {**_DATE, "pattern": _DATE["pattern"].replace(r"(Z|[+-]\d{2}:\d{2})$", "Z$")}
    schema.update({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://tokentrail.example/schemas/event.schema.json",
        "title": "Tokentrail normalized event (ECS plus tokentrail.*)",
        "required": ["@timestamp", "event"],
        "not": {"anyOf": [{"required": ["_tt"]}, {"required": ["_extra"]}]},
    })
    return schema
