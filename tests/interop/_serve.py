"""The serve loop of moto_server.py and sigv4_stub.py (not run by itself).

Both take `--ignore-stdin` and `--verbose`, print exactly one line `listening on URL` once the
socket is bound and accepting, then serve until stdin reaches EOF or SIGTERM/SIGINT arrives.

    stop = stop_on_signals()          # before the server starts
    ...start the server...
    serve_until_stopped(url, stop, ignore_stdin)
    ...stop the server, exit 0...
"""
import os
import signal
import sys
import threading


def parse_args(argv, usage, value_options=()):
    """Parse `--ignore-stdin`, `--verbose` and each `--NAME VALUE` of value_options.

    Returns (ignore_stdin, verbose, values), values mapping every value option to its value or
    None; or None, after printing `usage` to stderr, when argv holds anything else or a value
    option has no value. A repeated option is accepted (the last value counts).
    """
    values = dict.fromkeys(value_options)
    ignore_stdin = verbose = False
    it = iter(argv)
    for arg in it:
        if arg in values:
            values[arg] = next(it, None)
            if values[arg] is None:
                print(usage, file=sys.stderr)
                return None
        elif arg == "--ignore-stdin":
            ignore_stdin = True
        elif arg == "--verbose":
            verbose = True
        else:
            print(usage, file=sys.stderr)
            return None
    return ignore_stdin, verbose, values


def stop_on_signals():
    """An Event set by SIGTERM or SIGINT (which then no longer kill the process)."""
    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def serve_until_stopped(url, stop, ignore_stdin):
    """Print `listening on URL`, then return once `stop` is set or (unless ignore_stdin) stdin
    reaches EOF. The server itself runs in other threads, started by the caller."""
    if not ignore_stdin:
        def watch_stdin():
            # os.read on the raw fd: a daemon thread blocked inside the
            # buffered sys.stdin object aborts interpreter shutdown.
            try:
                while os.read(0, 65536):
                    pass
            except (OSError, ValueError):
                pass
            stop.set()

        threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    sys.stdout.write(f"listening on {url}\n")
    sys.stdout.flush()

    # Event.wait with a timeout keeps the main thread responsive to signals.
    while not stop.wait(0.5):
        pass
