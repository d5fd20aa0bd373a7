"""What goes into which cassette: the marker's choice, re-recording some tests only, adding
new ones in auto mode."""

import json

import pytest

from conftest import ALL_TESTS, MOTO_CREDENTIALS, PLUGIN_ARGS
from pytest_cognito_vcr.naming import scope_name


def scopes(cassette):
    """A cassette's interactions by scope."""
    grouped = {}
    for interaction in json.loads(cassette.read_text())["interactions"]:
        grouped.setdefault(interaction.get("scope"), []).append(interaction)
    return grouped


def test_a_marker_chooses_the_cassette_relative_to_the_test_file(project, pytester):
    main = scopes(project / "cassettes" / "cognito-vcr.json")
    assert len(main) == 8 and all(name.startswith("test_cognito.py__") for name in main), main
    module_scope = scope_name("test_other.py::test_in_the_module_cassette")
    function_scope = scope_name("test_other.py::test_in_its_own_cassette")
    assert scopes(project / "other" / "module.json").keys() == {module_scope}
    assert scopes(project / "other" / "function.json").keys() == {function_scope}

    # Replay reads them there: without the function's own cassette, only its test cannot start.
    (project / "other" / "function.json").unlink()
    result = pytester.runpytest(*PLUGIN_ARGS, "-q", "test_other.py")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_in_its_own_cassette*",
            "cognito-vcr: `* serve --mode replay --cassette */other/function.json` exited with 2"
            " before listening:",
            "*cassette */other/function.json does not exist*",
        ]
    )


def test_recording_some_tests_again_keeps_the_other_scopes_and_auto_adds_new_ones(
    project, pytester, moto, monkeypatch
):
    cassette = project / "cassettes" / "cognito-vcr.json"
    before = scopes(cassette)
    others = {p: p.read_bytes() for p in (project / "other").glob("*.json")}
    monkeypatch.setenv("COGNITO_VCR_UPSTREAM", moto.url)
    for name, value in MOTO_CREDENTIALS.items():
        monkeypatch.setenv(name, value)

    # A fresh moto: its pools get new ids and dates, yet what is recorded again is the same (the
    # pool the test creates is stored under a stand-in derived from its name, its dates as
    # virtual dates): re-recording an unchanged test leaves the cassette as it was.
    result = pytester.runpytest(
        *PLUGIN_ARGS, "-q", "-n", "0", "--cognito-vcr-mode=record", "-k", "paginated"
    )
    result.assert_outcomes(passed=1)
    after = scopes(cassette)
    paginated = scope_name("test_cognito.py::test_listing_paginated_by_two")
    assert after.keys() == before.keys()
    assert after[paginated] == before[paginated]
    assert {k: v for k, v in after.items() if k != paginated} == {
        k: v for k, v in before.items() if k != paginated
    }
    # The other cassettes' proxies were never started.
    assert {p: p.read_bytes() for p in (project / "other").glob("*.json")} == others

    # Auto mode answers what is recorded and records what is not: a new test's calls.
    pytester.makepyfile(
        test_new="""
        def test_added_later(cognito_vcr):
            assert cognito_vcr.mode == "auto"
            client = cognito_vcr.client()
            pool = client.create_user_pool(PoolName="added")["UserPool"]["Id"]
            assert client.describe_user_pool(UserPoolId=pool)["UserPool"]["Name"] == "added"
        """
    )
    auto = pytester.runpytest(*PLUGIN_ARGS, "-q", "--cognito-vcr-mode=auto")
    auto.assert_outcomes(passed=ALL_TESTS + 1)
    auto.stdout.fnmatch_lines(["*/cassettes/cognito-vcr.json: cognito-vcr auto: 2 recorded, *"])
    added = scopes(cassette)
    assert added.keys() == after.keys() | {scope_name("test_new.py::test_added_later")}

    moto.stop()
    for name in MOTO_CREDENTIALS:
        monkeypatch.delenv(name)
    (project / "test_new.py").write_text(
        (project / "test_new.py").read_text().replace('"auto"', '"replay"')
    )
    pytester.runpytest(*PLUGIN_ARGS, "-q").assert_outcomes(passed=ALL_TESTS + 1)


def test_the_default_cassette_from_the_ini_file_or_the_command_line(project, pytester):
    (project / "elsewhere").mkdir()
    (project / "cassettes" / "cognito-vcr.json").rename(project / "elsewhere" / "c.json")
    missing = pytester.runpytest(*PLUGIN_ARGS, "-q", "-k", "list_create_list")
    missing.assert_outcomes(errors=1)
    missing.stdout.fnmatch_lines(["*cassette */cassettes/cognito-vcr.json does not exist*"])

    (project / "pytest.ini").write_text("[pytest]\ncognito_vcr_cassette = elsewhere/c.json\n")
    (project / "sub").mkdir()
    # From another directory: the path is the rootdir's.
    with pytest.MonkeyPatch.context() as cwd:
        cwd.chdir(project / "sub")
        found = pytester.runpytest(*PLUGIN_ARGS, "-q", "-k", "list_create_list", "..")
    found.assert_outcomes(passed=1)
    found.stdout.fnmatch_lines([f"* {project}/elsewhere/c.json: cognito-vcr replay: *"])

    # The command line's path is the current directory's, and wins over the ini file's.
    (project / "elsewhere" / "c.json").rename(project / "sub" / "d.json")
    with pytest.MonkeyPatch.context() as cwd:
        cwd.chdir(project / "sub")
        given = pytester.runpytest(
            *PLUGIN_ARGS, "-q", "-k", "list_create_list", "--cognito-vcr-cassette=d.json", ".."
        )
    given.assert_outcomes(passed=1)
    given.stdout.fnmatch_lines([f"* {project}/sub/d.json: cognito-vcr replay: *"])
