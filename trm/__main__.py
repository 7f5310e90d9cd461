import sys

try:
    from trm.cli import main
except KeyboardInterrupt:  # Ctrl-C while the modules load: the same one line and exit code as later
    sys.stderr.write("trm: interrupted\n")
    raise SystemExit(130) from None

raise SystemExit(main())
