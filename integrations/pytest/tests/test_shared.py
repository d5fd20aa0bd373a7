"""A module-scoped fixture that creates the pool the tests use, in a scope of its own
(`cognito_vcr_proxy.scope(NAME)`): recorded from moto with no region or credentials in the
environment, replayed on 4 xdist workers and in reverse order, and re-recorded with one test
(its fixture's scope with it) against a fresh moto, leaving the cassette byte for byte as it was.
"""

from conftest import PLUGIN_ARGS, Moto

SUITE = """
import pytest


@pytest.fixture(scope="module")
def pool(cognito_vcr_proxy):
    setup = cognito_vcr_proxy.scope("module-pool")
    client = setup.client()
    pool = client.create_user_pool(PoolName="shared")["UserPool"]["Id"]
    for name in ("ann", "ben", "cid"):
        client.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS")
    return pool


def test_lists(cognito_vcr, pool):
    users = cognito_vcr.client().list_users(UserPoolId=pool)["Users"]
    assert sorted(u["Username"] for u in users) == ["ann", "ben", "cid"]


def test_gets(cognito_vcr, pool):
    user = cognito_vcr.client().admin_get_user(UserPoolId=pool, Username="ben")
    assert user["Username"] == "ben"


@pytest.mark.parametrize("name", ["ann", "cid"])
def test_each(cognito_vcr, pool, name):
    client = cognito_vcr.client()
    client.admin_update_user_attributes(
        UserPoolId=pool, Username=name, UserAttributes=[{"Name": "nickname", "Value": name * 2}]
    )
    got = client.admin_get_user(UserPoolId=pool, Username=name)["UserAttributes"]
    assert {"Name": "nickname", "Value": name * 2} in got
"""


def record(pytester, monkeypatch, *args):
    """Record against a fresh moto, with nothing but the upstream in the environment."""
    moto = Moto()
    try:
        monkeypatch.setenv("COGNITO_VCR_UPSTREAM", moto.url)
        return pytester.runpytest(*PLUGIN_ARGS, "-q", "-n", "0", "--cognito-vcr-mode=record", *args)
    finally:
        monkeypatch.delenv("COGNITO_VCR_UPSTREAM")
        moto.stop()


def test_a_module_fixture_records_and_replays_in_a_scope_of_its_own(pytester, monkeypatch):
    pytester.makepyfile(test_module_pool=SUITE)
    cassette = pytester.path / "cassettes" / "cognito-vcr.json"

    record(pytester, monkeypatch).assert_outcomes(passed=4)
    recorded = cassette.read_bytes()
    assert b'"scope": "module-pool"' in recorded

    # Offline: on 4 workers (each runs the fixture in its own proxy), and in reverse order.
    pytester.runpytest_subprocess(*PLUGIN_ARGS, "-q", "-n", "4").assert_outcomes(passed=4)
    pytester.makeconftest(
        """
        def pytest_collection_modifyitems(items):
            items.reverse()
        """
    )
    reverse = pytester.runpytest(*PLUGIN_ARGS, "-q", "--cognito-vcr-strict")
    reverse.assert_outcomes(passed=4)

    # One test re-recorded: -k selects it, and the fixture it uses runs (and records its scope)
    # again. Against a new moto, yet the cassette is what it was: every other test still replays.
    record(pytester, monkeypatch, "-k", "test_gets").assert_outcomes(passed=1, deselected=3)
    assert cassette.read_bytes() == recorded
    pytester.runpytest(*PLUGIN_ARGS, "-q", "--cognito-vcr-strict").assert_outcomes(passed=4)


def test_a_shared_scope_that_misses_fails_the_session(pytester, monkeypatch):
    pytester.makepyfile(test_module_pool=SUITE)
    record(pytester, monkeypatch, "-k", "test_lists").assert_outcomes(passed=1, deselected=3)
    pytester.makepyfile(test_module_pool=SUITE.replace('PoolName="shared"', 'PoolName="renamed"'))
    result = pytester.runpytest(*PLUGIN_ARGS, "-q", "-k", "test_lists")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*1 replay miss in scope module-pool (cassette *", "*CreateUserPool*"])
