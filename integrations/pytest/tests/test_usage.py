"""Using a running proxy (COGNITO_VCR_URL), finding the binary, the usage errors (CI, xdist),
scope names, the package's entry point."""

import re
import signal
import subprocess
import sys

import pytest

from conftest import (
    COGNITO_TESTS,
    HERE,
    MOTO_CREDENTIALS,
    PLUGIN_ARGS,
    SRC,
    clean_env,
    proxy_lines,
    recorded_counts,
)
from pytest_cognito_vcr.naming import scope_name
from pytest_cognito_vcr.proxy import Endpoint


def test_cognito_vcr_url_uses_the_running_proxy_and_starts_none(
    project, pytester, monkeypatch, vcr_bin, recorded
):
    proxy = subprocess.Popen(
        [vcr_bin, "serve", "--mode", "replay", "--cassette", "cassettes/cognito-vcr.json"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    try:
        url = proxy.stdout.readline().decode().strip().removeprefix("listening on ")
        monkeypatch.setenv("COGNITO_VCR_URL", url)
        # Twice against the same proxy: each test's scope is reset when it starts again.
        for _ in range(2):
            result = pytester.runpytest(*PLUGIN_ARGS, "-q", "test_cognito.py")
            result.assert_outcomes(passed=COGNITO_TESTS)
            result.stdout.fnmatch_lines(
                [
                    f"used the replay proxy at {url} (COGNITO_VCR_URL);"
                    " it was not started or stopped here"
                ]
            )
            assert proxy_lines(result.stdout.str()) == []
        summary = Endpoint(url).summary()
        assert summary["replayed"] == 2 * recorded_counts(recorded)["cognito-vcr.json"], summary
        assert summary["misses"] == 0

        # A marker asking for another cassette cannot be served by that proxy.
        marked = pytester.runpytest(*PLUGIN_ARGS, "-q", "test_other.py")
        assert marked.ret == pytest.ExitCode.USAGE_ERROR
        marked.stderr.fnmatch_lines(
            [
                "*test_other.py::test_in_the_module_cassette asks for cassette */other/module.json,"
                " but COGNITO_VCR_URL is set*"
            ]
        )
    finally:
        proxy.send_signal(signal.SIGTERM)
        assert proxy.wait(timeout=60) == 0
        proxy.stdout.close()


def test_under_cognito_vcr_run_xdist_workers_record_through_its_one_proxy(
    project, pytester, moto, vcr_bin
):
    # Recording from xdist workers is refused when each would start a proxy; `cognito-vcr run`
    # starts one, and every worker uses it (COGNITO_VCR_URL).
    done = subprocess.run(
        [vcr_bin, "run", "--mode", "record", "--cassette", "by-run.json", "--upstream", moto.url]
        + ["--", sys.executable, "-m", "pytest", *PLUGIN_ARGS, "-q", "-n", "2", "test_cognito.py"],
        cwd=project,
        env=clean_env(**MOTO_CREDENTIALS),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=300,
    )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, out + err
    url = re.search(r"cognito-vcr run: serving on (http://127\.0\.0\.1:\d+)", err).group(1)
    for worker in ("gw0", "gw1"):
        assert f"[{worker}] used the record proxy at {url} (COGNITO_VCR_URL)" in out, out
    assert proxy_lines(out) == []
    recorded = int(re.search(r"cognito-vcr record: (\d+) recorded", err).group(1))
    moto.stop()

    # Replayed by the plugin's own proxy, the cassette named on the command line.
    result = pytester.runpytest(
        *PLUGIN_ARGS, "-q", "--cognito-vcr-cassette=by-run.json", "test_cognito.py"
    )
    result.assert_outcomes(passed=COGNITO_TESTS)
    ((*_, cassette, line),) = proxy_lines(result.stdout.str())
    assert cassette == str(project / "by-run.json")
    assert f"{recorded} replayed, 0 misses" in line, line


@pytest.mark.parametrize(
    "ini", ["cognito_vcr_mode = record", "addopts = --cognito-vcr-mode=auto"]
)
def test_ci_refuses_recording_that_only_the_ini_file_asks_for(
    project, pytester, monkeypatch, ini
):
    (project / "pytest.ini").write_text(f"[pytest]\n{ini}\n")
    mode = ini.rsplit("=", 1)[1].strip()
    # Outside CI the ini file's mode is taken (collecting only: nothing is called).
    assert pytester.runpytest(*PLUGIN_ARGS, "--co", "-q").ret == pytest.ExitCode.OK

    monkeypatch.setenv("CI", "true")
    refused = pytester.runpytest(*PLUGIN_ARGS, "-q")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(
        [
            f"*CI is set and the mode '{mode}' does not come from the command line: in CI, ask"
            f" for it with --cognito-vcr-mode={mode}*"
        ]
    )
    # The command line decides: replay, in CI, whatever the ini says.
    replayed = pytester.runpytest(*PLUGIN_ARGS, "-q", "--cognito-vcr-mode=replay", "test_other.py")
    replayed.assert_outcomes(passed=2)


def test_recording_with_xdist_workers_is_a_usage_error(project, pytester):
    result = pytester.runpytest(*PLUGIN_ARGS, "-q", "-n", "2", "--cognito-vcr-mode=record")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*record with -p no:xdist (or -n 0)*"])


def test_the_binary_comes_from_cognito_vcr_bin_or_path(
    project, pytester, monkeypatch, tmp_path, vcr_bin
):
    monkeypatch.delenv("COGNITO_VCR_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = pytester.runpytest(*PLUGIN_ARGS, "-q", "test_other.py")
    missing.assert_outcomes(errors=2)
    missing.stdout.fnmatch_lines(
        [
            "*the cognito-vcr binary was not found:"
            " set COGNITO_VCR_BIN to its path or put it on PATH*"
        ]
    )

    monkeypatch.setenv("COGNITO_VCR_BIN", str(tmp_path / "nothing"))
    wrong = pytester.runpytest(*PLUGIN_ARGS, "-q", "test_other.py")
    wrong.assert_outcomes(errors=2)
    wrong.stdout.fnmatch_lines(["*COGNITO_VCR_BIN=*nothing is not an executable file*"])

    monkeypatch.delenv("COGNITO_VCR_BIN")
    (tmp_path / "cognito-vcr").symlink_to(vcr_bin)
    pytester.runpytest(*PLUGIN_ARGS, "-q", "test_other.py").assert_outcomes(passed=2)


VALID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def test_a_node_id_that_is_a_scope_name_is_kept():
    assert scope_name("test_login") == "test_login"


def test_scope_names_replace_other_characters_and_stay_unique():
    a = scope_name("tests/test_a.py::test_x[a b]")
    b = scope_name("tests/test_a.py::test_x[a_b]")
    assert VALID.fullmatch(a) and VALID.fullmatch(b)
    assert a.startswith("tests_test_a.py__test_x_a_b_-")
    assert b.startswith("tests_test_a.py__test_x_a_b_-")
    assert a != b
    assert scope_name("tests/test_a.py::test_x[a b]") == a


def test_long_node_ids_keep_a_readable_prefix_and_stay_unique():
    long = "tests/test_a.py::test_x[" + "y" * 300 + "]"
    name = scope_name(long)
    assert VALID.fullmatch(name) and len(name) == 128
    assert name.startswith("tests_test_a.py__test_x_yyyy")
    assert scope_name(long.replace("]", "z]")) != name
    assert scope_name("t" * 128) == "t" * 128
    assert scope_name("t" * 129) != "t" * 128


def test_installed_the_package_loads_by_its_entry_point_alone(project, pytester, tmp_path):
    """The pyproject's pytest11 entry point, as pip would install it (a dist-info beside the
    package), loads the plugin without `-p`; with `-p pytest_cognito_vcr` too it loads once."""
    tomllib = pytest.importorskip("tomllib")
    meta = tomllib.loads((HERE.parent / "pyproject.toml").read_text())["project"]
    site = tmp_path / "site"
    dist = site / f"pytest_cognito_vcr-{meta['version']}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n"
    )
    entry_points = "".join(f"{k} = {v}\n" for k, v in meta["entry-points"]["pytest11"].items())
    (dist / "entry_points.txt").write_text(f"[pytest11]\n{entry_points}")
    (site / "pytest_cognito_vcr").symlink_to(SRC / "pytest_cognito_vcr")
    env = clean_env(PYTHONPATH=str(site))
    for args in ([], ["-p", "pytest_cognito_vcr"]):
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_other.py"]
            + ["-k", "module", *args],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
        out = done.stdout.decode()
        assert done.returncode == 0, out
        assert "1 passed" in out and len(proxy_lines(out)) == 1, out
