#!/usr/bin/env python3
"""Run moto's server on 127.0.0.1 with an OS-chosen port, for the interop tests.

Prints exactly one line to stdout, `listening on http://127.0.0.1:PORT`, once
the socket is bound and accepting, then serves until stdin is closed (EOF) or
SIGTERM/SIGINT arrives, and exits 0.

Options:
  --ignore-stdin  do not watch stdin (for running by hand in the background
                  with stdin at /dev/null); stop it with SIGTERM/SIGINT.
  --verbose       log every request (werkzeug access log) to stderr.
"""
import logging
import os
import signal
import sys
import threading


def main(argv):
    ignore_stdin = "--ignore-stdin" in argv
    verbose = "--verbose" in argv
    unknown = [a for a in argv if a not in ("--ignore-stdin", "--verbose")]
    if unknown:
        print(f"usage: {sys.argv[0]} [--ignore-stdin] [--verbose]", file=sys.stderr)
        return 2

    # Moto needs no real credentials; make sure nothing can pick up real ones.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "fakesecret")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.ERROR)

    from moto.server import ThreadedMotoServer

    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()

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

    sys.stdout.write(f"listening on http://{host}:{port}\n")
    sys.stdout.flush()

    # Event.wait with a timeout keeps the main thread responsive to signals.
    while not stop.wait(0.5):
        pass

    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
