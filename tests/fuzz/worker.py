"""A `trm` process that runs many command lines, one per request, so a fuzz run pays the imports once.

Started by :mod:`tests.fuzz.harness` with an address-space limit (RLIMIT_AS) and small default
--memory-limit / --time-limit (environment), it reads one JSON request per line on stdin,
{"argv": [...], "cwd": "..."}, runs ``trm.cli.main(argv)`` with stdout and stderr captured, and
answers one JSON line {"code", "out", "err", "seconds"} on its real stdout.
"""
import io
import json
import os
import sys
import time


def serve() -> None:
    from trm.cli import main

    channel = os.fdopen(os.dup(1), "w")
    for line in sys.stdin:
        request = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        start = time.perf_counter()
        os.chdir(request["cwd"])
        try:
            code = main(request["argv"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except BaseException as exc:  # a traceback: report it, keep serving
            import traceback

            err.write("Traceback (most recent call last):\n" + "".join(traceback.format_exception(exc)))
            code = -1
        finally:
            sys.stdout, sys.stderr = saved
        channel.write(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue(),
                                  "seconds": time.perf_counter() - start}) + "\n")
        channel.flush()


if __name__ == "__main__":
    serve()
