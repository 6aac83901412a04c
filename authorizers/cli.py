"""The ``authorizers`` command.

  authorizers demo                  run the JWT authorizer end to end, offline
  authorizers invoke --handler jwt --event FILE [--env FILE] [--function NAME]
                                    run a handler on an event, as ``sam local invoke`` would

Exit status of ``invoke``: 0 a policy or simple response came back (Allow or Deny),
1 the handler answered 401 (Unauthorized), 3 it failed closed (500) or could not start,
2 bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from authorizers import __version__

HANDLERS = ("jwt",)
EXIT_OK, EXIT_UNAUTHORIZED, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


class UsageError(Exception):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from authorizers import demo

            return demo.run(sys.stdout, as_json=args.json, verbose=args.verbose)
        return _invoke(args)
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"{parser.prog}: error: {exc}\n")
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="authorizers", description="API Gateway Lambda authorizers toolkit")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="run the JWT authorizer end to end on loopback, offline")
    demo.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    demo.add_argument("--verbose", action="store_true", help="also show the handler's JSON logs and metrics")
    invoke = commands.add_parser("invoke", help="run a handler on an event file, as sam local invoke would")
    invoke.add_argument("--handler", required=True, choices=HANDLERS, help="which handler to run")
    invoke.add_argument(
        "--event", required=True, type=Path, help="API Gateway authorizer event (JSON file, - for stdin)"
    )
    invoke.add_argument("--env", type=Path, help="environment: flat JSON object, or SAM's env.json")
    invoke.add_argument("--function", help="with a SAM env.json: which function's variables to use")
    return parser


def _invoke(args: argparse.Namespace) -> int:
    event = _read_json(args.event, "event")
    if not isinstance(event, dict):
        raise UsageError("the event must be a JSON object")
    if args.env is not None:
        os.environ.update(environment(_read_json(args.env, "env file"), args.function))
    from authorizers.errors import AuthorizerError
    from authorizers.handlers.runtime import decide

    # Logs and metrics go to stderr, so stdout carries only the response.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            module = importlib.import_module(f"authorizers.handlers.{args.handler}")
            # ``handler`` is built lazily from the environment on first access: the cold start.
            handler = module.handler
        except AuthorizerError as exc:
            print(f"authorizer failed to start (500): {exc}", file=sys.stderr)
            return EXIT_FAILED
        decision, response = decide(handler, event)
    if decision == "unauthorized":
        print("401 Unauthorized", file=sys.stderr)
        return EXIT_UNAUTHORIZED
    if decision == "error":
        print("500 authorizer failed closed (see the log above)", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(response, indent=2, sort_keys=True))
    print("200 Allow" if decision == "allow" else "403 Deny", file=sys.stderr)
    return EXIT_OK


def environment(document: object, function: str | None) -> dict[str, str]:
    """Variables from a flat JSON object or SAM's env.json (``Parameters`` plus one function)."""
    if not isinstance(document, dict):
        raise UsageError("the env file must be a JSON object")
    if all(not isinstance(v, dict) for v in document.values()):
        return _strings(document)
    variables = _strings(document.get("Parameters", {}))
    functions = {k: v for k, v in document.items() if k != "Parameters" and isinstance(v, dict)}
    if function is None and len(functions) > 1:
        raise UsageError(f"the env file has several functions; pick one with --function ({', '.join(functions)})")
    if function is not None and function not in functions:
        raise UsageError(f"the env file has no function {function!r}")
    if functions:
        variables.update(_strings(functions[function or next(iter(functions))]))
    return variables


def _strings(mapping: Mapping[str, Any]) -> dict[str, str]:
    result = {}
    for key, value in mapping.items():
        if isinstance(value, (dict, list)) or value is None:
            raise UsageError(f"env variable {key} must be a string, number or boolean")
        result[key] = json.dumps(value) if isinstance(value, bool) else str(value)
    return result


def _read_json(path: Path, what: str) -> Any:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        return json.loads(text)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {str(path)!r}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"{what} {str(path)!r} is not JSON: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
