"""One module per `trm` subcommand, each with ``add_parser(sub)`` and ``run(args)``."""
from trm.commands import (audit, bench, bounds, exact, iid, lower_bounds, proofs, random, simulate, sweep, tables, threshold,
                          tightness, train)

#: In the order `trm --help` lists them.
COMMANDS = (exact, random, simulate, train, audit, bounds, threshold, iid, lower_bounds, tables, proofs, tightness, bench,
            sweep)
