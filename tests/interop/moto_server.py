#!/usr/bin/env python3
"""Run moto's server on 127.0.0.1 with an OS-chosen port, for the interop tests.

Prints exactly one line to stdout, `listening on http://127.0.0.1:PORT`, once
the socket is bound and accepting, then serves until stdin is closed (EOF) or
SIGTERM/SIGINT arrives, and exits 0.

Options:
  --ignore-stdin  do not watch stdin (for running by hand in the background
                  with stdin at /dev/null); stop it with SIGTERM/SIGINT.
  --verbose       log every request (werkzeug access log) to stderr.

MOTO_CLOCK in the environment sets the clock behind moto's Cognito user-pools dates. moto
keeps milliseconds and reads the clock twice for a pool (its creation and its modification
date), so whether the two are equal depends on where a millisecond boundary falls:
  MOTO_CLOCK=frozen  every date is the instant the server started (the two always equal); the
                     demo remake (tests/interop/record_demo.sh) is then the same bytes every
                     time, on a busy machine too;
  MOTO_CLOCK=apart   every read of the clock is a millisecond after the last (the two never
                     equal), to show what a recording makes of an upstream whose dates differ.
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

    clock = os.environ.get("MOTO_CLOCK")
    if clock in ("frozen", "apart"):
        import datetime
        import itertools

        import moto.cognitoidp.models as user_pools

        started = user_pools.utcnow()
        ticks = itertools.count()
        user_pools.utcnow = {
            "frozen": lambda: started,
            "apart": lambda: started + datetime.timedelta(milliseconds=next(ticks)),
        }[clock]
    elif clock is not None:
        print(f"{sys.argv[0]}: MOTO_CLOCK={clock}: expected frozen or apart", file=sys.stderr)
        return 2

    stop = stop_on_signals()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()

    serve_until_stopped(f"http://{host}:{port}", stop, ignore_stdin)

    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
