"""The plugin's tests: the example project in `project/` is recorded once against moto (through
the plugin in record mode), moto is stopped, and each test replays a copy of it with pytester.

The plugin is used from `../src` (`-p pytest_cognito_vcr`, with src on sys.path for in-process
runs and on PYTHONPATH for subprocesses and xdist workers), so nothing needs installing. The
binary: COGNITO_VCR_BIN, else cognito-vcr on PATH.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
collect_ignore = ["project"]

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
PROJECT = HERE / "project"
REPO = HERE.parents[2]
MOTO_SERVER = REPO / "tests" / "interop" / "moto_server.py"

sys.path.insert(0, str(SRC))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p
)
# Imported here (the naming tests, the binary check) and again by every in-process run's `-p`:
# loaded through pytest's rewriting import, so that the later runs do not warn that it is
# already imported.
pytest.register_assert_rewrite("pytest_cognito_vcr")

from pytest_cognito_vcr.proxy import ProxyError, find_binary  # noqa: E402

# What an inner run must not inherit from the environment the suite runs in (CI sets CI=true;
# a developer may have AWS settings or run the suite under `cognito-vcr run`).
CLEARED = (
    "CI",
    "COGNITO_VCR_URL",
    "COGNITO_VCR_MODE",
    "COGNITO_VCR_CASSETTE",
    "COGNITO_VCR_STRICT",
    "COGNITO_VCR_UPSTREAM",
    "COGNITO_VCR_STORE",
    "COGNITO_VCR_CONFIG",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
)
ISOLATED = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Fake credentials for moto (it checks none); replay runs get the plugin's placeholders instead.
MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "fakesecret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
PLUGIN_ARGS = ("-p", "pytest_cognito_vcr", "-p", "no:cacheprovider")
# The example project: test_cognito.py, 5 tests + 3 parametrized; test_other.py, 2.
COGNITO_TESTS = 8
ALL_TESTS = COGNITO_TESTS + 2


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(ISOLATED)
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch):
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in ISOLATED.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def vcr_bin():
    try:
        return find_binary()
    except ProxyError as e:
        pytest.fail(f"{e} (the plugin's tests need it)", pytrace=False)


class Moto:
    """moto's server on 127.0.0.1 (a free port); it stops when its stdin closes."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, str(MOTO_SERVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=clean_env(**MOTO_CREDENTIALS),
        )
        line = self.process.stdout.readline().decode()
        assert line.startswith("listening on "), f"moto said {line!r}"
        self.url = line[len("listening on ") :].strip()

    def stop(self):
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0
        self.process.stdout.close()


@pytest.fixture
def moto():
    server = Moto()
    yield server
    if server.process.poll() is None:
        server.stop()


def run_pytest(cwd, *args, env):
    """`python -m pytest -p pytest_cognito_vcr ARGS` in cwd, as a subprocess: (code, output)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *PLUGIN_ARGS, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=300,
    )
    return done.returncode, done.stdout.decode("utf-8", "replace")


class Recorded:
    """The example project after its recording: test files and cassettes."""

    def __init__(self, path, output):
        self.path = path
        self.output = output

    def copy_to(self, dest):
        shutil.copytree(
            self.path,
            dest,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".cognito-vcr", "__pycache__", ".pytest_cache"),
        )


@pytest.fixture(scope="session")
def recorded(tmp_path_factory, vcr_bin):
    """The example project recorded against moto in record mode, with CI=true (the mode is on
    the command line, which CI allows); moto is stopped before any test replays it."""
    path = tmp_path_factory.mktemp("recorded") / "project"
    shutil.copytree(PROJECT, path)
    server = Moto()
    try:
        code, output = run_pytest(
            path,
            "-q",
            "--cognito-vcr-mode=record",
            env=clean_env(CI="true", COGNITO_VCR_UPSTREAM=server.url, **MOTO_CREDENTIALS),
        )
    finally:
        server.stop()
    assert code == 0, output
    return Recorded(path, output)


@pytest.fixture
def project(pytester, recorded):
    """A copy of the recorded project in pytester's directory (the current directory)."""
    recorded.copy_to(pytester.path)
    return pytester.path


def proxy_lines(output):
    """The terminal summary's lines for the proxies: (worker or "", url, mode, cassette, line)."""
    return re.findall(
        r"^(?:\[(gw\d+)\] )?(http://127\.0\.0\.1:\d+) (\w+) (\S+): (cognito-vcr .*)$",
        output,
        re.M,
    )


def count(line, what):
    return int(re.search(rf"(\d+) {what}", line).group(1))


def recorded_counts(recorded):
    """Interactions recorded per cassette file name, from the recording's summary."""
    return {
        cassette.rsplit("/", 1)[-1]: count(line, "recorded")
        for _, _, mode, cassette, line in proxy_lines(recorded.output)
        if mode == "record"
    }
