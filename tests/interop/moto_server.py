#!/usr/bin/env python3
"""Run moto's server on 127.0.0.1 with an OS-chosen port, for the interop tests.

Prints exactly one line to stdout, `listening on http://127.0.0.1:PORT`, once
the socket is bound and accepting, then serves until stdin is closed (EOF) or
SIGTERM/SIGINT arrives, and exits 0.

Options:
  --ignore-stdin  do not watch stdin (for running by hand in the background
                  with stdin at /dev/null); stop it with SIGTERM/SIGINT.
  --verbose       log every request (werkzeug access log) to stderr.

With MOTO_FROZEN_CLOCK=1 in the environment, every Cognito user-pools date moto gives is the
instant the server started. moto keeps milliseconds and reads the clock twice for a pool (its
creation and its modification date), so whether the two are equal depends on where a
millisecond boundary falls, and with it the recording's virtual dates; the demo remake
(tests/interop/record_demo.sh) must be the same bytes every time, on a busy machine too.
"""
import logging
import os
import sys

from _serve import parse_args, serve_until_stopped, stop_on_signals


def main(argv):
    args = parse_args(argv, f"usage: {sys.argv[0]} [--ignore-stdin] [--verbose]")
    if args is None:
        return 2
    ignore_stdin, verbose, _ = args

    # Moto needs no real credentials; make sure nothing can pick up real ones.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "fakesecret")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.ERROR)

    from moto.server import ThreadedMotoServer

    if os.environ.get("MOTO_FROZEN_CLOCK") == "1":
        import moto.cognitoidp.models as user_pools

        started = user_pools.utcnow()
        user_pools.utcnow = lambda: started

    stop = stop_on_signals()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()

    serve_until_stopped(f"http://{host}:{port}", stop, ignore_stdin)

    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
