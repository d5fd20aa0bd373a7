"""pytest-cognito-vcr: each test replays (or records) its own scope of a cognito-vcr cassette,
through a proxy this pytest process starts (or the one `COGNITO_VCR_URL` names).

Layout: this file is the pytest surface (options, the `cognito_vcr` marker and fixture, the
hooks that fail a test on a replay miss and stop the proxies); `proxy.py` finds, starts, asks and
stops the proxies; `naming.py` turns node ids into scope names.
"""

import os
from pathlib import Path

import pytest

from .naming import scope_name
from .proxy import Endpoint, Proxy, ProxyError, find_binary

MODES = ("replay", "record", "auto")
WRITING_MODES = ("record", "auto")
DEFAULT_CASSETTE = "cassettes/cognito-vcr.json"
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"
# Replay needs no real credentials, but boto3 wants some and a region: these, where unset.
PLACEHOLDERS = {
    "AWS_ACCESS_KEY_ID": "cognito-vcr-replay",
    "AWS_SECRET_ACCESS_KEY": "cognito-vcr-replay",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}

# Where the upstream is AWS, a record run signs with the environment's own credentials.
AWS_HOSTS = ("amazonaws.com", "amazonaws.com.cn")

_RUN = pytest.StashKey["_Run"]()
_USED = pytest.StashKey["tuple"]()


class CognitoVcr:
    """What the `cognito_vcr` fixture gives a test: its scope's endpoint and a client for it."""

    def __init__(self, endpoint: Endpoint, scope: str, mode: str, cassette):
        self._endpoint = endpoint
        self.scope = scope
        self.endpoint_url = endpoint.scope_url(scope)
        self.mode = mode
        # The cassette (a Path) of the proxy this plugin started; None with COGNITO_VCR_URL.
        self.cassette = cassette

    def client(self, **kwargs):
        """A boto3 cognito-idp client (new session) for this scope; kwargs go to
        `Session.client` (`region_name`, `config`...). Where the proxy needs no real credentials
        (replay, or recording from moto or LocalStack), placeholders and a region where the
        environment has none."""
        import boto3

        kwargs.setdefault("endpoint_url", self.endpoint_url)
        if _placeholders_apply(self.mode):
            for name, arg in (
                ("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
                ("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"),
            ):
                if not os.environ.get(name):
                    kwargs.setdefault(arg, PLACEHOLDERS[name])
            if not (os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")):
                kwargs.setdefault("region_name", PLACEHOLDERS["AWS_REGION"])
        return boto3.session.Session().client("cognito-idp", **kwargs)

    def summary(self) -> dict:
        """The scope's counts since the test started: hits, misses, miss_messages, recorded..."""
        return self._endpoint.scope_summary(self.scope)

    def __repr__(self):
        return f"<CognitoVcr {self.mode} {self.endpoint_url}>"


def pytest_addoption(parser):
    group = parser.getgroup("cognito-vcr", "record and replay Cognito user-pools calls")
    group.addoption(
        "--cognito-vcr-mode",
        choices=MODES,
        default=None,
        help="replay (default), record or auto; overrides the cognito_vcr_mode ini value",
    )
    group.addoption(
        "--cognito-vcr-cassette",
        default=None,
        metavar="PATH",
        help=f"the cassette of tests without a marker (default: {DEFAULT_CASSETTE} under rootdir)",
    )
    group.addoption(
        "--cognito-vcr-strict",
        action="store_true",
        default=False,
        help="start the proxies with --strict: replay past the last of answers that differ is a"
        " miss, and misses or unused interactions fail the session",
    )
    parser.addini("cognito_vcr_mode", "replay (default), record or auto", default="replay")
    parser.addini(
        "cognito_vcr_cassette",
        f"the default cassette, relative to rootdir (default: {DEFAULT_CASSETTE})",
        default=DEFAULT_CASSETTE,
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "cognito_vcr(cassette): the cognito-vcr cassette of this test, class or module,"
        " relative to the test file's directory",
    )
    config.stash[_RUN] = _Run(config)


def pytest_collection_modifyitems(config, items):
    """Check every marker before anything runs (a usage error stops the run)."""
    run = config.stash[_RUN]
    for item in items:
        if "cognito_vcr" in getattr(item, "fixturenames", ()):
            run.cassette_of(item)


class CognitoVcrProxy:
    """What the session fixture `cognito_vcr_proxy` gives: scopes of their own for fixtures that
    outlive one test (a pool made once per module or session)."""

    def __init__(self, run):
        self._run = run

    def scope(self, name: str, cassette=None) -> CognitoVcr:
        """Scope `name` of `cassette` (default: the run's default cassette), reset now: the
        fixture that creates a pool, a client, users records or replays there. Its misses fail
        the session."""
        run = self._run
        cassette = run.cassette if cassette is None else _absolute(Path(cassette))
        endpoint, vcr = run.open_scope(cassette, scope_name(name))
        run.shared.append((endpoint, vcr))
        return vcr


@pytest.fixture(scope="session")
def cognito_vcr_proxy(request):
    """The proxies of this pytest process, for fixtures broader than a test:
    `cognito_vcr_proxy.scope("pool-setup")` gives a scope of its own, reset when asked for, with
    `.endpoint_url` and `.client()`."""
    return CognitoVcrProxy(request.config.stash[_RUN])


@pytest.fixture
def cognito_vcr(request):
    """This test's own scope of the cassette: reset at the start, the endpoint in
    AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER (and, in replay, placeholder credentials and
    region where unset) for the test's duration."""
    run = request.config.stash[_RUN]
    cassette = run.cassette_of(request.node)
    endpoint, vcr = run.open_scope(cassette, scope_name(request.node.nodeid))
    mode = vcr.mode
    env = pytest.MonkeyPatch()
    env.setenv(ENDPOINT_VARIABLE, vcr.endpoint_url)
    if _placeholders_apply(mode):
        for name, value in PLACEHOLDERS.items():
            if not os.environ.get(name):
                env.setenv(name, value)
    request.node.stash[_USED] = (endpoint, vcr)
    try:
        yield vcr
    finally:
        env.undo()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test whose scope missed fails, whatever it did with the miss's ClientError."""
    outcome = yield
    if call.when != "call":
        return
    used = item.stash.get(_USED, None)
    if used is None:
        return
    endpoint, vcr = used
    report = outcome.get_result()
    try:
        summary = endpoint.scope_summary(vcr.scope)
    except ProxyError as e:
        _fail(report, f"cognito-vcr: could not ask scope {vcr.scope} for its misses: {e}")
        return
    if summary.get("misses"):
        _fail(report, _misses_text(vcr, summary, endpoint, item.nodeid))


def _misses_text(vcr, summary, endpoint, nodeid) -> str:
    misses = summary["misses"]
    messages = summary.get("miss_messages") or []
    where = f"cassette {vcr.cassette}" if vcr.cassette else f"the proxy at {endpoint.url}"
    lines = [
        f"cognito-vcr: {misses} replay miss{'es' if misses != 1 else ''} in scope {vcr.scope}"
        f" ({where}):"
    ]
    lines += [f"  {message}" for message in messages]
    if len(messages) < misses:
        lines.append(f"  ({misses - len(messages)} more not listed)")
    lines.append(
        f"Record it again with: pytest --cognito-vcr-mode=record '{nodeid}'"
        " (or --cognito-vcr-mode=auto to add only what is missing)"
    )
    return "\n".join(lines)


def _placeholders_apply(mode: str) -> bool:
    """Whether calls need no real credentials: replay, or recording from an upstream that is not
    AWS (moto, LocalStack), which checks none but still needs a region and some keys."""
    if mode == "replay":
        return True
    upstream = os.environ.get("COGNITO_VCR_UPSTREAM", "").strip().lower()
    return bool(upstream) and upstream != "aws" and not any(h in upstream for h in AWS_HOSTS)


def _fail(report, text: str) -> None:
    if report.failed:
        if hasattr(report.longrepr, "addsection"):
            report.longrepr.addsection("cognito-vcr", text)
        else:
            report.longrepr = f"{report.longrepr}\n\n{text}"
        return
    report.outcome = "failed"
    report.longrepr = text
    if hasattr(report, "wasxfail"):
        del report.wasxfail


def pytest_sessionfinish(session):
    run = session.config.stash.get(_RUN, None)
    if run is None:
        return
    run.check_shared()
    run.stop_all()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["cognito_vcr"] = {"lines": run.lines, "failed": run.failed}
    if run.failed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist controller: a worker's proxies, for the terminal summary."""
    run = node.config.stash.get(_RUN, None)
    out = getattr(node, "workeroutput", {}).get("cognito_vcr")
    if run is None or not out:
        return
    worker = node.workerinput["workerid"]
    run.lines.extend(f"[{worker}] {line}" for line in out["lines"])
    if out["failed"]:
        run.failed = True


def pytest_terminal_summary(terminalreporter, config):
    run = config.stash.get(_RUN, None)
    if run is None or not run.lines:
        return
    terminalreporter.write_sep("-", "cognito-vcr")
    for line in run.lines:
        terminalreporter.write_line(line)


def pytest_unconfigure(config):
    run = config.stash.get(_RUN, None)
    if run is not None:
        run.stop_all()


def _mode_on_command_line(args):
    mode = None
    for i, arg in enumerate(args):
        if arg == "--cognito-vcr-mode" and i + 1 < len(args):
            mode = args[i + 1]
        elif arg.startswith("--cognito-vcr-mode="):
            mode = arg.split("=", 1)[1]
    return mode


class _Run:
    """The settings of this pytest process and the proxies it started, one per cassette."""

    def __init__(self, config):
        self.external = os.environ.get("COGNITO_VCR_URL", "").strip().rstrip("/") or None
        self.worker = getattr(config, "workerinput", {}).get("workerid")
        self.strict = config.getoption("cognito_vcr_strict")
        self.mode = config.getoption("cognito_vcr_mode") or config.getini("cognito_vcr_mode")
        if self.mode not in MODES:
            raise pytest.UsageError(
                f"cognito-vcr: cognito_vcr_mode = {self.mode!r}: use one of {', '.join(MODES)}"
            )
        cli = config.getoption("cognito_vcr_cassette")
        if cli:
            self.cassette = _absolute(Path(config.invocation_params.dir) / cli)
        else:
            self.cassette = _absolute(config.rootpath / config.getini("cognito_vcr_cassette"))
        if self.worker is None:
            self._check_ci(config)
            self._check_distributed(config)
        self._proxies = {}  # cassette -> Proxy
        self._errors = {}  # cassette -> why its proxy did not start
        self._external_mode = None
        self.lines = []  # for the terminal summary
        self.failed = False  # a proxy's stop fails the session
        self._stopped = False
        self.shared = []  # (endpoint, CognitoVcr) of the scopes cognito_vcr_proxy gave out

    def _check_ci(self, config):
        """With CI=true, recording must be asked for on the command line: a CI job never calls
        the real Cognito because of an ini file (or addopts)."""
        if os.environ.get("CI", "").strip().lower() not in ("true", "1"):
            return
        if self.mode in WRITING_MODES and _mode_on_command_line(
            config.invocation_params.args
        ) != self.mode:
            raise pytest.UsageError(
                f"cognito-vcr: CI is set and the mode {self.mode!r} does not come from the"
                f" command line: in CI, ask for it with --cognito-vcr-mode={self.mode}"
                " (the ini value and addopts are not enough), or replay"
            )

    def _check_distributed(self, config):
        distributed = config.getoption("dist", "no") != "no" and config.getoption("tx", None)
        if self.mode in WRITING_MODES and not self.external and distributed:
            raise pytest.UsageError(
                f"cognito-vcr: --cognito-vcr-mode={self.mode} writes the cassette from one"
                " process only, and pytest-xdist workers would each start their own: record"
                " with -p no:xdist (or -n 0)"
            )

    def cassette_of(self, item) -> Path:
        """The cassette of a test: its closest `cognito_vcr` marker's, else the default."""
        marker = item.get_closest_marker("cognito_vcr")
        if marker is None:
            return self.cassette
        path = marker.kwargs.get("cassette", marker.args[0] if marker.args else None)
        if not path:
            raise pytest.UsageError(
                f"cognito-vcr: {item.nodeid}: the marker needs a cassette:"
                ' @pytest.mark.cognito_vcr(cassette="PATH")'
            )
        cassette = _absolute(Path(item.path).parent / path)
        if self.external and cassette != self.cassette:
            raise pytest.UsageError(
                f"cognito-vcr: {item.nodeid} asks for cassette {cassette}, but COGNITO_VCR_URL"
                f" is set: the proxy at {self.external} serves the cassette it was started with."
                " Run these tests without COGNITO_VCR_URL (the plugin then starts a proxy per"
                " cassette)"
            )
        return cassette

    def open_scope(self, cassette: Path, scope: str):
        """`scope` of `cassette`'s proxy, reset: (endpoint, CognitoVcr); a proxy that cannot
        be had fails the asking test or fixture."""
        try:
            endpoint, mode = self.endpoint(cassette)
            endpoint.reset(scope)
        except ProxyError as e:
            pytest.fail(str(e), pytrace=False)
        return endpoint, CognitoVcr(endpoint, scope, mode, None if self.external else cassette)

    def endpoint(self, cassette: Path):
        """The proxy serving `cassette` (started on first use) and its mode."""
        if self.external:
            if self._external_mode is None:
                endpoint = Endpoint(self.external)
                self._external_mode = endpoint.summary().get("mode", self.mode)
            return Endpoint(self.external), self._external_mode
        if cassette in self._errors:
            raise ProxyError(self._errors[cassette])
        proxy = self._proxies.get(cassette)
        if proxy is None:
            try:
                proxy = Proxy.start(find_binary(), self.mode, str(cassette), self.strict)
            except ProxyError as e:
                self._errors[cassette] = str(e)
                raise
            self._proxies[cassette] = proxy
        return proxy.endpoint, self.mode

    def check_shared(self):
        """A shared scope that missed fails the session, with its miss messages."""
        for endpoint, vcr in self.shared:
            try:
                summary = endpoint.scope_summary(vcr.scope)
            except ProxyError as e:
                self.lines.append(f"could not ask scope {vcr.scope} for its misses: {e}")
                self.failed = True
                continue
            if summary.get("misses"):
                self.failed = True
                text = _misses_text(vcr, summary, endpoint, "")
                lines = text.splitlines()[:-1] + [
                    f"Record it again with the tests that use the fixture of scope {vcr.scope}:"
                    " pytest --cognito-vcr-mode=record -k ..."
                ]
                self.lines.extend(lines)
        self.shared = []

    def stop_all(self):
        if self._stopped:
            return
        self._stopped = True
        if self.external:
            if self._external_mode is not None:
                self.lines.append(
                    f"used the {self._external_mode} proxy at {self.external} (COGNITO_VCR_URL);"
                    " it was not started or stopped here"
                )
            return
        for cassette, proxy in self._proxies.items():
            stopped = proxy.stop()
            self.lines.append(f"{proxy.endpoint.url} {proxy.mode} {cassette}: {stopped.line}")
            if stopped.exit_code == 0:
                continue
            summary = stopped.summary or {}
            if stopped.exit_code == 1 and self.worker and summary.get("misses") == 0:
                self.lines.append(
                    "  (unused interactions do not fail a pytest-xdist worker: each replays"
                    " part of the cassette)"
                )
                continue
            self.failed = True
            self.lines.append(f"  the proxy exited with {stopped.exit_code}: the session fails")


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))
