"""Run the command line in-process, for the command-line tests."""
from trm.cli import main


def run(capsys, *argv):
    """(exit code, stdout, stderr) of `trm argv` (each argument through str), whether argparse or the command
    refused the input."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err
