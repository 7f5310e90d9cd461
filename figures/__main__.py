import sys

try:
    from figures.cli import main
except KeyboardInterrupt:
    sys.stderr.write("python -m figures: interrupted\n")
    raise SystemExit(130) from None

raise SystemExit(main())
