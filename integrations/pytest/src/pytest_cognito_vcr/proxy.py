"""The cognito-vcr proxies of one pytest process: find the binary, start `cognito-vcr serve`, ask a
running proxy over HTTP (a scope's reset and summary, the run's summary), stop it and keep what
it said. Nothing here knows about pytest."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

# Loopback only, so never through HTTP_PROXY and friends.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_TIMEOUT = 30
_STOP_TIMEOUT = 120


class ProxyError(Exception):
    """A proxy that could not be found, started, asked or stopped; the message says why."""


def _installed_binary():
    """The binary the `cognito-vcr` wheel installed beside this plugin (in its scripts folder,
    wherever that is: a venv, --user, --target), if the plugin came from that wheel."""
    try:
        from importlib import metadata

        files = metadata.distribution("cognito-vcr").files or []
    except Exception:  # not installed from the wheel (a checkout, the pytest-cognito-vcr package)
        return None
    # pip records scripts relative to site-packages (`../../../bin/cognito-vcr`).
    for file in files:
        if file.name in ("cognito-vcr", "cognito-vcr.exe"):
            path = os.path.normpath(str(file.locate()))
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    return None


def find_binary() -> str:
    """`COGNITO_VCR_BIN`, else the binary installed with this plugin (the `cognito-vcr` wheel),
    else `cognito-vcr` on PATH."""
    path = os.environ.get("COGNITO_VCR_BIN")
    if path:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise ProxyError(f"cognito-vcr: COGNITO_VCR_BIN={path} is not an executable file")
        return path
    found = _installed_binary() or shutil.which("cognito-vcr")
    if found is None:
        raise ProxyError(
            "cognito-vcr: the cognito-vcr binary was not found: set COGNITO_VCR_BIN to its path"
            " or put it on PATH (or set COGNITO_VCR_URL to use a proxy that is already running)"
        )
    return found


def _call(method: str, url: str) -> dict:
    request = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)
    try:
        with _OPENER.open(request, timeout=_TIMEOUT) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as e:
        body = e.read().decode("utf-8", "replace")
        raise ProxyError(f"cognito-vcr: {method} {url} answered {e.code}: {body}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise ProxyError(f"cognito-vcr: {method} {url} failed: {e}") from None


class Endpoint:
    """A running proxy, by its base URL (`http://127.0.0.1:PORT`)."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def scope_url(self, scope: str) -> str:
        return f"{self.url}/scope/{scope}"

    def reset(self, scope: str) -> None:
        answer = _call("POST", f"{self.scope_url(scope)}/reset")
        if answer.get("reset") is not True:
            raise ProxyError(f"cognito-vcr: reset of scope {scope} answered {answer}")

    def scope_summary(self, scope: str) -> dict:
        """Hits, misses and their messages... of the scope since its last reset."""
        return _call("GET", f"{self.scope_url(scope)}/summary")

    def summary(self) -> dict:
        """The whole run so far: mode, recorded, replayed, misses, unused, strict..."""
        return _call("GET", f"{self.url}/summary")


def _die_with_parent():
    """Linux: SIGTERM the proxy when the pytest process dies without stopping it (kill -9), so a
    recording is still written and no replay proxy is left behind."""
    try:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort only
        pass


if sys.platform.startswith("linux"):
    try:
        import ctypes

        _LIBC = ctypes.CDLL(None)
    except OSError:  # pragma: no cover
        _LIBC = None
else:  # pragma: no cover
    _LIBC = None


class Stopped:
    """What a stopped proxy said: its run's summary (None if it could not be asked), exit code
    and summary line."""

    def __init__(self, summary, exit_code: int, line: str):
        self.summary = summary
        self.exit_code = exit_code
        self.line = line


class Proxy:
    """A `cognito-vcr serve` process started by this pytest process."""

    def __init__(self, process, endpoint: Endpoint, stderr, mode: str, cassette: str):
        self._process = process
        self._stderr = stderr
        self.endpoint = endpoint
        self.mode = mode
        self.cassette = cassette

    @classmethod
    def start(cls, binary: str, mode: str, cassette: str, strict: bool) -> "Proxy":
        """Start it and wait for its `listening on URL` line (or its exit, with the reason)."""
        args = [binary, "serve", "--mode", mode, "--cassette", cassette]
        if strict:
            args.append("--strict")
        # Its log goes to an unnamed file, read back when it stops: a pipe nobody reads could
        # fill and stall it.
        stderr = tempfile.TemporaryFile()
        try:
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=dict(os.environ, NO_COLOR="1"),
                # The parent-death signal follows the thread that started the child: only from
                # the main thread, which lives as long as the process.
                preexec_fn=_die_with_parent
                if _LIBC is not None and threading.current_thread() is threading.main_thread()
                else None,
            )
        except OSError as e:
            stderr.close()
            raise ProxyError(f"cognito-vcr: could not start {binary}: {e}") from None
        line = process.stdout.readline().decode("utf-8", "replace")
        if not line.startswith("listening on "):
            code = process.wait()
            process.stdout.close()
            text = _read(stderr).strip()
            stderr.close()
            raise ProxyError(
                f"cognito-vcr: `{' '.join(args)}` exited with {code} before listening:\n{text}"
            )
        return cls(process, Endpoint(line[len("listening on ") :].strip()), stderr, mode, cassette)

    def stop(self) -> Stopped:
        """SIGTERM (the proxy finishes in-flight calls and writes the cassette), wait, read its
        summary line (the last `cognito-vcr ...` line of its stderr)."""
        try:
            summary = self.endpoint.summary()
        except ProxyError:
            summary = None
        self._process.send_signal(signal.SIGTERM)
        try:
            code = self._process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            code = self._process.wait()
        self._process.stdout.close()
        text = _read(self._stderr)
        self._stderr.close()
        lines = [line for line in text.splitlines() if line.startswith("cognito-vcr")]
        if not lines:
            line = f"(no summary line; exit code {code})"
        elif code == 0:
            line = lines[-1]
        else:
            # A failed stop says why in its own lines (`cognito-vcr: error: ...`).
            line = "\n".join(lines)
        return Stopped(summary, code, line)


def _read(file) -> str:
    file.seek(0)
    return file.read().decode("utf-8", "replace")
