"""Replaying the recorded example project (moto is gone by now): plainly, each test twice in one
run, a subset in reverse order, from four pytest-xdist workers."""

import re

from conftest import (
    ALL_TESTS,
    PLUGIN_ARGS,
    count,
    proxy_lines,
    recorded_counts,
)


def test_the_recording_made_three_cassettes(recorded):
    counts = recorded_counts(recorded)
    assert counts.keys() == {"cognito-vcr.json", "module.json", "function.json"}, recorded.output
    assert all(n > 0 for n in counts.values()), counts
    for name in ("cassettes/cognito-vcr.json", "other/module.json", "other/function.json"):
        assert (recorded.path / name).is_file()


def test_a_recorded_project_replays_with_placeholder_credentials(
    project, pytester, recorded, monkeypatch
):
    # Nothing of AWS in the environment (the suite's fixture cleared it) but a region, which the
    # fixture keeps; the rest it sets for each test and takes back after it.
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    pytester.makepyfile(
        test_env="""
        import os

        def test_placeholders_where_unset(cognito_vcr):
            assert cognito_vcr.mode == "replay"
            assert cognito_vcr.cassette.name == "cognito-vcr.json"
            assert os.environ["AWS_ACCESS_KEY_ID"] == "cognito-vcr-replay"
            assert os.environ["AWS_SECRET_ACCESS_KEY"] == "cognito-vcr-replay"
            assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
            assert os.environ["AWS_REGION"] == "eu-west-1"
            client = cognito_vcr.client(region_name="ca-central-1")
            assert client.meta.endpoint_url == cognito_vcr.endpoint_url
            assert client.meta.region_name == "ca-central-1"

        def test_the_environment_is_restored_after_a_test():
            for name in ("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "AWS_ACCESS_KEY_ID",
                         "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
                assert name not in os.environ, name
            assert os.environ["AWS_REGION"] == "eu-west-1"
        """
    )
    result = pytester.runpytest(*PLUGIN_ARGS, "-q")
    result.assert_outcomes(passed=ALL_TESTS + 2)
    lines = proxy_lines(result.stdout.str())
    replayed = {cassette.rsplit("/", 1)[-1]: line for _, _, _, cassette, line in lines}
    # Every recorded interaction replayed, none missed, once per test.
    for name, n in recorded_counts(recorded).items():
        assert count(replayed[name], "replayed") == n, replayed[name]
        assert "0 misses" in replayed[name]
        # Not strict: what a run left unreplayed is not said (a subset would leave some).
        assert "never replayed" not in replayed[name], replayed[name]


def test_each_test_twice_in_one_run_replays_from_its_start(project, pytester):
    # The same node ids twice in one proxy run: the fixture resets the scope at each start, so
    # list / create / list answers ["first"] first again.
    result = pytester.runpytest(
        *PLUGIN_ARGS,
        "-q",
        "-k",
        "list_create_list or alike",
        "--keep-duplicates",
        "test_cognito.py",
        "test_cognito.py",
    )
    result.assert_outcomes(passed=2 * 4)


def test_a_subset_in_reverse_order_replays(project, pytester):
    pytester.makeconftest(
        """
        def pytest_collection_modifyitems(items):
            items.reverse()
        """
    )
    result = pytester.runpytest(
        *PLUGIN_ARGS, "-v", "-k", "list_create_list or paginated or alike", "test_cognito.py"
    )
    result.assert_outcomes(passed=5)
    ran = re.findall(r"::(test_\w+)(?:\[[^\]]*\])? PASSED", result.stdout.str())
    assert ran == [
        "test_scopes_of_alike_names_stay_apart",
        "test_scopes_of_alike_names_stay_apart",
        "test_scopes_of_alike_names_stay_apart",
        "test_list_create_list",
        "test_listing_paginated_by_two",
    ]


def test_four_xdist_workers_each_replay_with_a_proxy_of_their_own(project, pytester, recorded):
    # A subprocess: xdist gives local workers the sys.path its controller started with, and
    # this process put the plugin's src on it only later. Strict: each worker replays part of
    # the cassette, so what it leaves unused does not fail the session.
    result = pytester.runpytest_subprocess(*PLUGIN_ARGS, "-q", "-n", "4", "--cognito-vcr-strict")
    result.assert_outcomes(passed=ALL_TESTS)
    assert result.ret == 0
    notes = result.stdout.str().count(
        "(unused interactions do not fail a pytest-xdist worker: each replays part of the cassette)"
    )
    assert notes == 4, result.stdout.str()
    lines = proxy_lines(result.stdout.str())
    main = [line for line in lines if line[3].endswith("cassettes/cognito-vcr.json")]
    # Every worker ran tests of the main cassette, each through a proxy of its own...
    assert sorted(worker for worker, *_ in main) == ["gw0", "gw1", "gw2", "gw3"], lines
    assert len({url for _, url, *_ in main}) == 4
    # ...and between them they replayed the whole recording, with no miss.
    assert sum(count(line, "replayed") for *_, line in main) == recorded_counts(recorded)[
        "cognito-vcr.json"
    ]
    assert all("0 misses" in line for *_, line in lines)
