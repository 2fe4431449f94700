"""Schema-driven fuzzing of the live server: every operation of /openapi.json, answered as documented.

schemathesis generates requests from the document (valid and invalid ones) and checks each
response: no 5xx, a documented status, content type, headers and body schema, invalid data
refused, valid data accepted. The server runs with MAX_DURATION=2 so that a case renders at most
two seconds of audio; the number of cases per operation is bounded: 20 each, or ``FUZZ_CASES`` in
all (``FUZZ_CASES=1000 python3 -m pytest -q tests/test_fuzz.py``), spread over the operations, an
operation with fewer distinct cases than its share passing the rest on to the next ones.

Two rules are not a schema: a cursor must be one the service gave out, and a primer must be a
MIDI file with a melody. A schema-valid request refused for those alone is the documented
answer, not a failure; every other refusal of valid data is.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.openapi.checks import RejectedPositiveData

from .conftest import PROJECT_ROOT, server_env
from .own_server import own_server

CASES_PER_OPERATION = 20
KEYED_CASES_PER_OPERATION = 8   # with keys on: the same operations again, each case carrying a key
ENTRY = str(PROJECT_ROOT / "ai_music_system.py")
TOTAL_CASES = int(os.environ.get("FUZZ_CASES", "0"))   # 0: CASES_PER_OPERATION each
# Valid only as the server's own state issued it (a cursor), or by content no schema states
# (a primer's base64 must decode to a Standard MIDI File with a melody).
ACROSS_FIELDS = {"cursor", "midi"}


@pytest.fixture(scope="module", params=["open", "keys"])
def fuzzed(request, tmp_path_factory):
    """The server with keys off, then with keys on (every case then carries a valid key)."""
    auth = "keys" if request.param == "keys" else "off"
    with own_server(tmp_path_factory.mktemp("fuzz"), MAX_DURATION="2", GUNICORN_THREADS="6",
                    AUTH=auth) as (server, _):
        headers = {}
        if auth == "keys":
            done = subprocess.run([sys.executable, ENTRY, "keys", "create", "fuzz"], cwd=PROJECT_ROOT,
                                  capture_output=True, text=True, timeout=120,
                                  env=server_env(server.output_dir, server.port, AUTH="keys"))
            assert done.returncode == 0, done.stderr
            headers = {"Authorization": f"Bearer {done.stdout.strip().splitlines()[-1]}"}
        yield server, headers


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    server, headers = fuzzed
    return schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", headers=headers)


def valid_data_accepted(ctx, response, case) -> bool | None:
    """schemathesis's positive_data_acceptance, but for the fields named above."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 400:
            details = response.json().get("error", {}).get("details", [])
            fields = {d.get("field", "").rsplit(".", 1)[-1] for d in details}   # requests[0].time_signature
            if fields and fields <= ACROSS_FIELDS:
                return None
        raise


def test_every_operation_answers_as_documented(api_schema, fuzzed):
    _, headers = fuzzed
    per_default = CASES_PER_OPERATION if not headers else KEYED_CASES_PER_OPERATION
    failures: dict[str, str] = {}
    ran = 0
    per_operation: dict[str, int] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for index, operation in enumerate(operations):
        share = per_default
        if TOTAL_CASES:
            share = max(1, math.ceil((TOTAL_CASES - ran) / (len(operations) - index)))

        @given(case=operation.as_strategy())
        @settings(max_examples=share, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None, derandomize=True, phases=[Phase.explicit, Phase.generate])
        def check(case) -> None:
            nonlocal ran
            ran += 1
            case.call_and_validate(timeout=60, headers=headers, excluded_checks=[positive_data_acceptance],
                                   additional_checks=[valid_data_accepted])

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:   # every operation is fuzzed; failures reported together
            failures[operation.label] = str(exc)[:3000]
        per_operation[operation.label] = ran - sum(per_operation.values())
    print(f"{ran} cases over {len(operations)} operations:",
          ", ".join(f"{label} {n}" for label, n in per_operation.items()))
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert ran >= (TOTAL_CASES or 10 * per_default)
