"""The OpenAPI document is valid 3.1, documents every route, and matches what is enforced."""
from __future__ import annotations

import re

import pytest

from aimusic.web.schemas import (
    MAX_TEMPERATURE, MAX_TEMPO, MIN_DURATION, MIN_TEMPERATURE, MIN_TEMPO, field_limits, generate_request_model,
)



@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"].startswith("3.1")
    validator = pytest.importorskip("openapi_spec_validator")  # pinned in the test requirements
    validator.validate(spec)


def test_every_route_and_method_is_documented(app, spec):
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is not in the OpenAPI document"
    routes = {re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", r.rule) for r in app.url_map.iter_rules()}
    assert set(spec["paths"]) == routes, "nothing documented that does not exist"


@pytest.mark.parametrize("max_duration", [300.0, 45.0])
def test_request_schema_limits_equal_the_validator(make_app, max_duration):
    spec = make_app(max_duration=max_duration).test_client().get("/openapi.json").get_json()
    schema = spec["components"]["schemas"]["GenerateRequest"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["style"]
    model = generate_request_model(max_duration)
    assert set(schema["properties"]) == set(model.model_fields)
    expected = {"duration": (MIN_DURATION, max_duration), "tempo": (MIN_TEMPO, MAX_TEMPO),
                "seed": (0, 2**32 - 1), "temperature": (MIN_TEMPERATURE, MAX_TEMPERATURE), "energy": (0.0, 1.0)}
    assert field_limits(model) == expected
    for name, (low, high) in expected.items():
        prop = schema["properties"][name]
        branch = next((b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"))
        assert (branch["minimum"], branch["maximum"]) == (low, high), name


def _validator(spec, name):
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    import referencing.jsonschema  # noqa: F401 - the draft constants

    registry = referencing.Registry().with_resource(
        "urn:openapi", referencing.Resource.from_contents(spec, default_specification=referencing.jsonschema.DRAFT202012))
    schema = {"$ref": f"urn:openapi#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


def test_live_responses_match_their_documented_schemas(server):
    spec = server.get("/openapi.json").json()
    request = {"style": "electronic", "duration": 2, "seed": 3}
    _validator(spec, "GenerateRequest").validate(request)
    cases = [
        (server.get("/", {"Accept": "application/json"}), "SystemInfo"),
        (server.get("/health"), "HealthResponse"),
        (server.get("/api/styles"), "StylesResponse"),
        (server.post_json("/api/generate", request), "GenerateResponse"),
        (server.post_json("/api/generate", {"style": "jazz", "tempo": 7}), "ErrorResponse"),
        (server.get("/api/download/nothing.wav"), "ErrorResponse"),
    ]
    for response, name in cases:
        _validator(spec, name).validate(response.json())
    documented = spec["paths"]["/api/generate"]["post"]["responses"]
    assert {str(r.status) for r, _ in cases[3:5]} <= set(documented)


def test_invalid_requests_are_invalid_for_the_schema_too(spec):
    validator = _validator(spec, "GenerateRequest")
    for bad in ({"duration": 3}, {"style": "jazz", "tempo": 241}, {"style": "jazz", "tempo": 120.5},
                {"style": "jazz", "seed": -1}, {"style": "jazz", "extra": 1}, {"style": "jazz", "temperature": 3}):
        assert not validator.is_valid(bad), bad
