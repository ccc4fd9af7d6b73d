"""The /api/v1 OpenAPI schema, fuzzed by schemathesis against the in-process app: no request gets a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis.errors import Unsatisfiable
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode

from tests.conftest import csrf_token
from tests.factories import login
from tests.web.requests_support import make_match, make_request, member
from web.services import messages

# Per operation and mode; ~12 operations x 2 modes x (2 runs) stays well under a minute.
EXAMPLES = 15


def test_api_v1_answers_generated_requests_without_server_errors(app, client, session, settings):
    alice, bob, carol = member(session, "Alpha"), member(session, "Beta"), member(session, "Gamma")
    match = make_match(session, settings, alice, bob)
    messages.post_message(session, settings, bob, match.id, "Hello from Beta")
    pending = make_request(session, settings, carol, alice)
    session.commit()
    login(client, alice)
    headers, cookies = {"X-CSRF-Token": csrf_token(client, "/profile")}, dict(client.cookies)

    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app).include(path_regex="^/api/v1/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures: list[str] = []

    def fuzz(strategy) -> None:
        @given(case=strategy)
        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(headers=headers, cookies=cookies)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                f"{case.as_curl_command(headers=headers)}")

        try:
            run()
        except Unsatisfiable:
            pass  # nothing to make invalid (an operation without parameters or body, in negative mode)

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation.as_strategy(generation_mode=mode))
        if "{request_id}" in operation.path:
            # Real ids too, so the generated bodies and queries reach the services, not only the 404.
            for request_id in (match.id, pending.id):
                fuzz(operation.as_strategy(path_parameters={"request_id": request_id}))
    assert not failures, "\n".join(failures[:20])
