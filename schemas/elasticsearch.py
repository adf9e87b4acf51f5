"""Elasticsearch templates derived from the field declarations (one source of truth: fields.yml).

Data streams are `logs-<event.dataset>-<namespace>`. One component template carries the mappings of
every declared field, one the settings; an index template per dataset composes them with priority 200
(above the built-in `logs` template's 100). An ILM policy for clusters that have ILM, and a data
stream lifecycle in the templates for those that do not (Serverless).
"""

from __future__ import annotations

from typing import Any

from schemas import declared_fields

MAPPINGS = "tokentrail@mappings"
SETTINGS = "tokentrail@settings"
ILM_POLICY = "tokentrail"
DATASETS = (
    "okta.system", "azure.signinlogs", "azure.auditlogs", "google_workspace.login", "google_workspace.token",
    "atlassian_confluence.audit", "atlassian.org_audit", "tokentrail.access", "tokentrail.findings",
    "tokentrail.dlq",
)

_SIMPLE = {"keyword", "ip", "date", "date_nanos", "long", "integer", "float", "double", "boolean", "flattened",
           "geo_point", "match_only_text", "text", "wildcard", "constant_keyword", "scaled_float", "object"}


def _mapping_for(field: dict[str, Any]) -> dict[str, Any]:
    t = field.get("type", "keyword")
    if t not in _SIMPLE:
        raise ValueError(f"{field['name']}: unsupported type {t!r}")
    if t == "object":
        return {"type": "object", "enabled": field.get("enabled", True)}
    m: dict[str, Any] = {"type": t}
    if t == "keyword":
        m["ignore_above"] = field.get("ignore_above", 1024)
    if t == "date":
        m["format"] = "strict_date_optional_time||epoch_millis"
    if t == "scaled_float":
        m["scaling_factor"] = field.get("scaling_factor", 1000)
    if field.get("index") is False:
        m["index"] = False
        if t == "keyword":
            m["doc_values"] = False
    return m


def properties() -> dict[str, Any]:
    """Nested `properties` for every declared field; raises on a field declared both leaf and parent."""
    root: dict[str, Any] = {}
    for name in sorted(declared_fields()):
        field = declared_fields()[name]
        node = root
        parts = name.split(".")
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {"properties": {}})
            if "properties" not in child:
                raise ValueError(f"{name}: {'.'.join(parts[: i + 1])} is declared as a leaf field")
            node = child["properties"]
        leaf = parts[-1]
        if leaf in node and "properties" in node[leaf]:
            raise ValueError(f"{name}: declared as a leaf but has sub-fields")
        node[leaf] = _mapping_for(field)
    return root


def templates(namespace: str = "default", *, retention: str = "400d") -> dict[str, dict[str, Any]]:
    """Component templates, index templates and the ILM policy to install (bodies for the REST API)."""
    component = {
        MAPPINGS: {
            "template": {
                "mappings": {
                    "dynamic": True,
                    "date_detection": False,
                    "dynamic_templates": [
                        {"strings_as_keyword": {"match_mapping_type": "string",
                                                "mapping": {"type": "keyword", "ignore_above": 1024}}},
                    ],
                    "properties": properties(),
                }
            },
            "_meta": {"managed_by": "tokentrail", "description": "ECS and provider fields Tokentrail writes"},
        },
        SETTINGS: {
            "template": {
                "settings": {"index": {"lifecycle": {"name": ILM_POLICY}, "codec": "best_compression",
                                       "mapping": {"total_fields": {"limit": 5000}}}},
            },
            "_meta": {"managed_by": "tokentrail"},
        },
    }
    index = {
        f"logs-{ds}": {
            "index_patterns": [f"logs-{ds}-*"],
            "data_stream": {},
            "priority": 200,
            "composed_of": [MAPPINGS, SETTINGS],
            "template": {"lifecycle": {"data_retention": retention}},
            "_meta": {"managed_by": "tokentrail", "dataset": ds},
        }
        for ds in DATASETS
    }
    ilm = {
        ILM_POLICY: {
            "policy": {
                "phases": {
                    "hot": {"actions": {"rollover": {"max_primary_shard_size": "50gb", "max_age": "30d"}}},
                    "delete": {"min_age": retention, "actions": {"delete": {}}},
                },
                "_meta": {"managed_by": "tokentrail"},
            }
        }
    }
    return {"component_templates": component, "index_templates": index, "ilm_policies": ilm}


def data_stream(dataset: str, namespace: str = "default") -> str:
    return f"logs-{dataset}-{namespace}"
