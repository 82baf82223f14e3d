"""`lss <verb>`: the engine's command line. Exit codes: 0 ok, 1 internal error, 2 bad usage, 3 bad input, 4 (`lss
grade`) not assessed: outputs written, nothing graded."""

from __future__ import annotations

import argparse
import os
import sys

import lss
from lss.cli import (
    agreement_command,
    evaluate_command,
    grade_command,
    inspect_command,
    phantom_command,
    train_command,
)
from lss.cli.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_USAGE, InputDataError, UsageError

VERBS = (phantom_command, inspect_command, grade_command, agreement_command, evaluate_command, train_command)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-command per verb."""
    parser = argparse.ArgumentParser(prog="lss", description="Lumbar spinal stenosis detection and grading "
                                                             "(research use only, not for clinical use).")
    parser.add_argument("--version", action="version", version=f"lss {lss.__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    subparsers.required = True
    for verb in VERBS:
        verb.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one verb; map failures to exit codes with a one-line message on stderr (never a traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as error:
        parser.exit(EXIT_USAGE, f"lss {args.verb}: error: {error}\n")
    except InputDataError as error:
        print(f"lss {args.verb}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader of our output went away (e.g. `lss inspect … | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"lss {args.verb}: interrupted", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as error:  # noqa: BLE001 - last line of defence: report, do not dump a traceback
        print(f"lss {args.verb}: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_INTERNAL
    return 0


if __name__ == "__main__":
    sys.exit(main())
