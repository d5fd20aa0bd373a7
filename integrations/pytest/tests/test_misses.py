"""A request the cassette does not hold fails the test that sent it, with the proxy's miss
messages in its failure, whatever the test did with the ClientError; --cognito-vcr-strict."""

import pytest

from conftest import PLUGIN_ARGS

UNRECORDED = """
import pytest
from botocore.exceptions import ClientError


def test_swallows_two_misses(cognito_vcr):
    client = cognito_vcr.client()
    for name in ("never-recorded-1", "never-recorded-2"):
        try:
            client.create_user_pool(PoolName=name)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "CognitoVcrReplayMissException"
    assert cognito_vcr.summary()["misses"] == 2


def test_fails_on_its_own_too(cognito_vcr):
    cognito_vcr.client().create_user_pool(PoolName="never-recorded-3")


def test_without_calls_passes(cognito_vcr):
    assert cognito_vcr.summary()["misses"] == 0
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_test_that_missed_fails_with_the_miss_messages(project, pytester, workers):
    pytester.makepyfile(test_unrecorded=UNRECORDED)
    run = pytester.runpytest_subprocess if workers else pytester.runpytest
    result = run(*PLUGIN_ARGS, "-q", "-rf", "test_unrecorded.py", *workers)
    result.assert_outcomes(passed=1, failed=2)

    def miss(pool):
        return (
            "cognito-vcr replay miss: CreateUserPool occurrence 1 in scope test_unrecorded.py__"
            f'*is not in cassette*body {{"PoolName":"{pool}"}}*'
        )

    # The test that caught both ClientErrors: both messages, as its whole failure.
    result.stdout.fnmatch_lines(
        [
            "*_ test_swallows_two_misses _*",
            "cognito-vcr: 2 replay misses in scope test_unrecorded.py__test_swallows_two_misses-*",
            "  " + miss("never-recorded-1"),
            "  " + miss("never-recorded-2"),
            "Record it again with: pytest --cognito-vcr-mode=record"
            " 'test_unrecorded.py::test_swallows_two_misses'"
            " (or --cognito-vcr-mode=auto to add only what is missing)",
        ]
    )
    # The test that failed on the ClientError keeps its traceback, the miss appended.
    result.stdout.fnmatch_lines(
        [
            "*_ test_fails_on_its_own_too _*",
            "*botocore.exceptions.ClientError: An error occurred (CognitoVcrReplayMissException)*",
            "*- cognito-vcr -*",
            "cognito-vcr: 1 replay miss in scope test_unrecorded.py__test_fails_on_its_own_too-*",
            "  " + miss("never-recorded-3"),
        ]
    )
    result.stdout.fnmatch_lines(["FAILED test_unrecorded.py::test_swallows_two_misses - *"])


def test_the_report_of_a_missing_test_holds_every_miss_message(project, pytester):
    pytester.makepyfile(test_unrecorded=UNRECORDED)
    reports = pytester.inline_run(*PLUGIN_ARGS, "test_unrecorded.py").getreports(
        "pytest_runtest_logreport"
    )
    calls = {r.nodeid.split("::")[1]: r for r in reports if r.when == "call"}
    swallowed = calls["test_swallows_two_misses"]
    assert swallowed.failed
    assert "never-recorded-1" in str(swallowed.longrepr)
    assert "never-recorded-2" in str(swallowed.longrepr)
    own = calls["test_fails_on_its_own_too"]
    assert own.failed and "never-recorded-3" in str(own.longrepr)
    assert "ClientError" in str(own.longrepr)
    # Each test's own misses only (each has its own scope).
    assert "never-recorded-3" not in str(swallowed.longrepr)
    assert "never-recorded-1" not in str(own.longrepr)
    assert calls["test_without_calls_passes"].passed


def test_strict_fails_a_session_that_leaves_interactions_unused(project, pytester):
    subset = pytester.runpytest(*PLUGIN_ARGS, "-q", "--cognito-vcr-strict", "-k", "paginated")
    assert subset.ret == pytest.ExitCode.TESTS_FAILED
    subset.assert_outcomes(passed=1)
    subset.stdout.fnmatch_lines(
        [
            "*/cassettes/cognito-vcr.json: cognito-vcr replay: *"
            "recorded interactions never replayed*",
            "  the proxy exited with 1: the session fails",
        ]
    )
    whole = pytester.runpytest(*PLUGIN_ARGS, "-q", "--cognito-vcr-strict")
    assert whole.ret == pytest.ExitCode.OK
    assert "the session fails" not in whole.stdout.str()


def test_more_misses_than_the_proxy_lists_are_counted():
    # The proxy keeps the first 100 messages of a scope; the count is all of them.
    from pytest_cognito_vcr import CognitoVcr, _misses_text
    from pytest_cognito_vcr.proxy import Endpoint

    endpoint = Endpoint("http://127.0.0.1:1")
    vcr = CognitoVcr(endpoint, "s", "replay", None)
    text = _misses_text(vcr, {"misses": 120, "miss_messages": ["m"] * 100}, endpoint, "t.py::t")
    assert text.startswith(
        "cognito-vcr: 120 replay misses in scope s (the proxy at http://127.0.0.1:1):"
    )
    assert text.count("\n  m") == 100
    assert "  (20 more not listed)" in text
