"""The ``authorizers`` command.

  authorizers demo                  run the JWT authorizer end to end, offline
  authorizers invoke --handler jwt|cognito|saml|sigv4|multi --event FILE [--env FILE] [--function NAME]
                                    run a handler on an event, as ``sam local invoke`` would
  authorizers invoke --rie --function NAME --event FILE [--env FILE] [--build-dir DIR]
                                    run the ``sam build`` function under the Lambda Runtime
                                    Interface Emulator (no Docker), as ``sam local invoke`` would
  authorizers policy (--rules FILE_OR_JSON | --openapi FILE)... --claims FILE --arn ARN [...]
                                    preview the response for a token's claims, before deploying
  authorizers token [--alg ALG] [--sub SUB] [--scope SCOPES] [--claim NAME=VALUE]... [--jwks-out FILE]
                                    mint a development JWT from a local development key (stdout)

Exit status of ``invoke``: 0 a policy or simple response came back (Allow or Deny),
1 the handler answered 401 (Unauthorized), 3 it failed closed (500) or could not start,
2 bad usage.

Exit status of ``policy``: 0 the requested route is allowed, 1 it is denied, 2 bad usage,
configuration, claims or ARN.

Exit status of ``token``: 0 a token was printed, 2 bad usage or an unusable key directory.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from authorizers import __version__

if TYPE_CHECKING:
    from authorizers.jwt.jwks import VerificationKey
    from policies.principal import Principal

HANDLERS = ("jwt", "cognito", "saml", "sigv4", "multi")
EXIT_OK, EXIT_UNAUTHORIZED, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
EXIT_DENIED = 1  # policy: the requested route is denied


class UsageError(Exception):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from authorizers import demo

            return demo.run(sys.stdout, as_json=args.json, verbose=args.verbose)
        if args.command == "policy":
            return _policy(args)
        if args.command == "token":
            return _token(args)
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
    invoke.add_argument("--handler", choices=HANDLERS, help="which handler to run")
    invoke.add_argument(
        "--event", required=True, type=Path, help="API Gateway authorizer event (JSON file, - for stdin)"
    )
    invoke.add_argument("--env", type=Path, help="environment: flat JSON object, or SAM's env.json")
    invoke.add_argument("--function", help="with a SAM env.json: which function's variables to use")
    invoke.add_argument(
        "--rie",
        action="store_true",
        help="run --function (the template's logical id; or the function of --handler) from the sam build "
        "output under the Lambda Runtime Interface Emulator, with env.json applied as sam local invoke applies it",
    )
    invoke.add_argument(
        "--build-dir", type=Path, default=Path("build/sam"), help="with --rie: sam build's output (default build/sam)"
    )
    invoke.add_argument(
        "--rie-binary", help="with --rie: the aws-lambda-rie to use (default: aws-sam-cli's in .tools/sam)"
    )
    invoke.add_argument("--rie-python", help="with --rie: a Python with awslambdaric (default .tools/rie/bin/python)")
    _policy_parser(commands)
    _token_parser(commands)
    return parser


POLICY_USAGE = (
    "authorizers policy (--rules FILE_OR_JSON | --openapi FILE)... --claims FILE --arn ARN\n"
    "                          [--schemes NAMES] [--scope {api,route}] [--format {iam,simple}]\n"
    "                          [--context-claims NAMES] [--groups-claim NAME]"
)
POLICY_EPILOG = """\
The rules and OpenAPI document are loaded exactly as the handler loads AUTHZ_RULES,
AUTHZ_OPENAPI, AUTHZ_OPENAPI_SCHEMES and AUTHZ_POLICY_SCOPE. The claims are taken as
already verified (nothing is checked but their shape), so this previews authorization,
not authentication. stdout carries only the response; a summary goes to stderr.

exit status: 0 the requested route is allowed, 1 it is denied, 2 bad usage, configuration,
claims or ARN.

examples:
  authorizers policy --rules rules.yaml --claims claims.json \\
      --arn arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets/1
  authorizers policy --openapi openapi.yaml --schemes oauth --scope route --format simple \\
      --claims - --arn arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/DELETE/v2/pets/7 < claims.json
"""


def _policy_parser(commands: Any) -> None:
    policy = commands.add_parser(
        "policy",
        help="preview the response the handler would give a token's claims on one route",
        description="Show the response the JWT handler would return for these (trusted) claims on one route.",
        usage=POLICY_USAGE,
        epilog=POLICY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    policy.add_argument(
        "--rules",
        action="append",
        metavar="FILE_OR_JSON",
        help="authorization rules, as AUTHZ_RULES: a YAML/JSON file, or inline JSON ('{\"rules\": [...]}')",
    )
    policy.add_argument(
        "--openapi",
        action="append",
        metavar="FILE",
        help="an OpenAPI 3.x / Swagger 2.0 document, as AUTHZ_OPENAPI (e.g. openapi.yaml); "
        "combined with --rules as the handler combines them",
    )
    policy.add_argument(
        "--claims",
        required=True,
        type=Path,
        metavar="FILE",
        help='the token\'s claims as a JSON object, - for stdin (e.g. {"iss": ..., "sub": "alice", "exp": ...,'
        ' "scope": "pets:read"}); iss, sub and exp are required, as every token the handler accepts has them',
    )
    policy.add_argument(
        "--arn",
        required=True,
        help="the requested method ARN, e.g. arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets/1",
    )
    policy.add_argument(
        "--schemes",
        metavar="NAMES",
        help="as AUTHZ_OPENAPI_SCHEMES: the OpenAPI security schemes that count, comma- or space-separated "
        "(e.g. oauth,petstore_auth); default every scheme",
    )
    policy.add_argument(
        "--scope",
        choices=("api", "route"),
        default="api",
        help="as AUTHZ_POLICY_SCOPE: the policy lists every allowed route of the API (api, the default) "
        "or only the requested one (route)",
    )
    policy.add_argument(
        "--format",
        choices=("iam", "simple"),
        default="iam",
        help="iam (default): an IAM policy for a REST TOKEN event; simple: an HTTP API payload 2.0 "
        "simple response (--arn is then the routeArn)",
    )
    policy.add_argument(
        "--context-claims",
        metavar="NAMES",
        help="as AUTHZ_CONTEXT_CLAIMS: claims copied into the context (e.g. tenant,email)",
    )
    policy.add_argument(
        "--groups-claim",
        default="groups",
        metavar="NAME",
        help="as JWT_GROUPS_CLAIM: the claim holding the principal's groups (default groups, e.g. cognito:groups)",
    )


def _invoke(args: argparse.Namespace) -> int:
    if args.handler is None and not (args.rie and args.function):
        raise UsageError("the following arguments are required: --handler (or --rie with --function)")
    event = _read_json(args.event, "event")
    if not isinstance(event, dict):
        raise UsageError("the event must be a JSON object")
    if args.rie:
        return _invoke_rie(args, event)
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


def _invoke_rie(args: argparse.Namespace, event: dict[str, Any]) -> int:
    """``invoke --rie``: the built function under the Lambda Runtime Interface Emulator."""
    from authorizers import rie

    handler = f"authorizers.handlers.{args.handler}.handler" if args.handler else None
    try:
        build = rie.BuildOutput.load(args.build_dir)
        function = build.function(args.function or build.function_for_handler(str(handler)))
        if handler is not None and function.handler != handler:
            raise UsageError(f"{function.logical_id} runs {function.handler}, not --handler {args.handler}")
        python, binary = rie.find_python(args.rie_python), rie.find_emulator(args.rie_binary)
        rie.check_architecture(function)
        rie.check_python(python, function.runtime)
    except rie.RieSetupError as exc:
        raise UsageError(str(exc)) from None
    overrides = environment(_read_json(args.env, "env file"), function.logical_id) if args.env is not None else {}
    environ, ignored = rie.function_environment(function, overrides)
    for name in ignored:
        print(
            f"warning: env file: {name} is not in {function.logical_id}'s Environment in the template, "
            "so it is not set (sam local invoke and the deployed function would not see it either)",
            file=sys.stderr,
        )
    emulator = rie.Emulator(function, python, binary, environ)
    try:
        with emulator:
            invocation = emulator.invoke(event)
    except rie.RieError as exc:
        sys.stderr.write(rie.display_logs(emulator.logs()))
        print(f"the emulator failed (500): {exc}", file=sys.stderr)
        return EXIT_FAILED
    # The function's logs (stderr), then the response alone on stdout, as in-process.
    sys.stderr.write(rie.display_logs(emulator.logs()))
    init = "".join(f"init {ms:.0f} ms, " for ms in rie.init_durations_ms(emulator.logs())[:1])
    print(
        f"{function.logical_id} under the emulator: {init}round trip {invocation.seconds * 1000:.0f} ms",
        file=sys.stderr,
    )
    decision, response, detail = rie.outcome(event, invocation)
    if decision == "unauthorized":
        print("401 Unauthorized", file=sys.stderr)
        return EXIT_UNAUTHORIZED
    if decision == "error":
        started = invocation.status == 200
        print(f"500 authorizer {'failed closed' if started else 'failed to start'}: {detail}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(response, indent=2, sort_keys=True))
    print("200 Allow" if decision == "allow" else "403 Deny", file=sys.stderr)
    return EXIT_OK


def _policy(args: argparse.Namespace) -> int:
    from authorizers.errors import ConfigurationError
    from authorizers.settings import load_response_settings
    from policies.context import principal_context
    from policies.errors import ContextError, PolicyError
    from policies.request import parse_event
    from policies.response import ResponseFormat, policy_response, simple_response

    try:
        # The handler's own settings path (load_authorization included), on a synthetic environment.
        settings = load_response_settings(policy_environment(args))
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None
    try:
        request = parse_event(preview_event(args.arn, args.format))
    except PolicyError as exc:
        raise UsageError(f"--arn: {exc}") from None
    claims = _read_json(args.claims, "claims")
    principal = preview_principal(claims, args.groups_claim)
    try:
        context = principal_context(principal, settings.context_claims)
    except ContextError as exc:
        raise UsageError(f"the handler would answer 401: {exc}") from None
    verdict = settings.authorization.decide(principal, request)
    # As AuthorizerHandler._handle builds it (usage plan keys aside: none are configured here).
    if settings.response_format.resolve(request.kind) is ResponseFormat.SIMPLE:
        response = simple_response(verdict.allowed, context if verdict.allowed else None)
    else:
        grants = any(statement.effect == "Allow" for statement in verdict.statements)
        response = policy_response(principal.principal_id, verdict.statements, context if grants else None)
    print(json.dumps(response, indent=2, sort_keys=True))
    arn = request.method_arn
    for note in settings.authorization.cold_start_notes():
        print(f"warning: {note}", file=sys.stderr)
    print(f"decision: {'allow' if verdict.allowed else 'deny'} {arn.verb} /{arn.resource}", file=sys.stderr)
    print(f"principal class: {verdict.principal_class}", file=sys.stderr)
    print(f"policy scope: {verdict.scope.value} (configured: {args.scope})", file=sys.stderr)
    if verdict.note:
        print(f"note: {verdict.note}", file=sys.stderr)
    return EXIT_OK if verdict.allowed else EXIT_DENIED


def policy_environment(args: argparse.Namespace) -> dict[str, str]:
    """The handler's settings for ``policy``'s options: only what was given, none of it blank."""
    from authorizers import settings

    rules, openapi = _once(args.rules, "--rules"), _once(args.openapi, "--openapi")
    if rules is None and openapi is None:
        raise UsageError("give --rules, --openapi or both")
    # A blank value would read as unset, and no rules means the whole API: refuse it.
    given = {
        settings.AUTHZ_RULES: ("--rules", rules),
        settings.AUTHZ_OPENAPI: ("--openapi", openapi),
        settings.AUTHZ_OPENAPI_SCHEMES: ("--schemes", args.schemes),
        settings.AUTHZ_CONTEXT_CLAIMS: ("--context-claims", args.context_claims),
    }
    environ = {settings.AUTHZ_POLICY_SCOPE: args.scope, settings.AUTHZ_RESPONSE_FORMAT: args.format}
    for name, (option, value) in given.items():
        if value is None:
            continue
        if not settings.split_list(value):
            raise UsageError(f"{option} is empty")
        environ[name] = value
    return environ


def _once(values: list[str] | None, option: str) -> str | None:
    if not values:
        return None
    if len(values) > 1:
        raise UsageError(f"{option} may be given once: the handler reads one setting")
    return values[0]


def preview_event(arn: str, response_format: str) -> dict[str, Any]:
    """The event API Gateway would send for ``arn``: REST TOKEN, or HTTP API 2.0 for simple responses."""
    if response_format == "simple":
        return {"version": "2.0", "type": "REQUEST", "routeArn": arn, "headers": {}}
    return {"type": "TOKEN", "authorizationToken": "Bearer preview", "methodArn": arn}


class _NoKeys:
    """The preview verifies nothing, so it needs no keys."""

    def find_key(self, kid: str | None, alg: str) -> VerificationKey | None:
        return None

    def prefetch(self) -> None:
        return None


def preview_principal(claims: object, groups_claim: str) -> Principal:
    """The principal :class:`JwtValidator` builds from these claims, taken as verified.

    For this preview only: the claims come from the user, not from a checked signature.
    """
    from authorizers.errors import ConfigurationError, CredentialRejected
    from authorizers.jwt.config import IssuerConfig
    from authorizers.jwt.validator import JwtValidator, VerifiedJwt

    if not isinstance(claims, dict):
        raise UsageError("the claims must be a JSON object")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise UsageError("the claims need sub, a non-empty string")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer.strip():
        raise UsageError("the claims need iss, a non-empty string (the handler refuses tokens without it)")
    if not _finite_number(claims.get("exp")):
        raise UsageError("the claims need exp, a number (the handler refuses tokens without it)")
    try:
        config = IssuerConfig(issuer=issuer, key_source=_NoKeys(), audience=None, groups_claim=groups_claim)
        return JwtValidator([config]).principal(VerifiedJwt(header={}, claims=claims, config=config))
    except (ConfigurationError, CredentialRejected) as exc:
        raise UsageError(f"claims: {exc}") from None


def _finite_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float: the handler refuses it too
        return False


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


TOKEN_EPILOG = """\
The token alone goes to stdout, so TOKEN=$(authorizers token ...) works; notes go to stderr.
The key is created on first use in the key directory (0700, the key file 0600, never
committed: the directory ignores itself in git) and reused afterwards, one per algorithm.
The JWKS (--jwks-out, --env-out, --print-env) holds every key of the directory.

DEVELOPMENT ONLY: anyone with the key file can mint any token. Never configure a
deployed authorizer with this JWKS or issuer.

--claim values are JSON when they parse (true, 42, ["a","b"], {"k":1}), text otherwise.

exit status: 0 a token was printed, 2 bad usage or an unusable key directory.

examples:
  TOKEN=$(authorizers token --sub alice --scope "pets:read pets:write" --groups vets \\
      --env-out dev-env.json)
  authorizers invoke --handler jwt --env dev-env.json --event event.json   # event with Bearer $TOKEN
  authorizers token --alg ES256 --claim tenant=acme --claim 'roles=["admin"]' --jwks-out jwks.json
  authorizers token --ttl 5m --print-env
  authorizers token --issued-at 1700000000 --ttl 60          # an expired token, to test refusals
"""


def _token_parser(commands: Any) -> None:
    from authorizers import devtoken

    token = commands.add_parser(
        "token",
        help="mint a development JWT signed by a local development key (development only)",
        description="Mint a JWT signed by a local DEVELOPMENT key, and the JWKS that verifies it, "
        "to test the authorizers offline. Development only: never trust this key in a deployment.",
        epilog=TOKEN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    token.add_argument(
        "--key-dir",
        type=Path,
        default=devtoken.DEFAULT_KEY_DIR,
        metavar="DIR",
        help=f"where the development keys live (default {devtoken.DEFAULT_KEY_DIR}/)",
    )
    token.add_argument(
        "--alg", choices=devtoken.ALGORITHMS, default="RS256", help="signature algorithm (default RS256)"
    )
    token.add_argument("--iss", default=devtoken.DEV_ISSUER, help=f"issuer (default {devtoken.DEV_ISSUER})")
    token.add_argument(
        "--aud", action="append", metavar="AUD", help=f"audience, repeatable (default {devtoken.DEV_AUDIENCE})"
    )
    token.add_argument("--sub", default=devtoken.DEV_SUBJECT, help=f"subject (default {devtoken.DEV_SUBJECT})")
    token.add_argument(
        "--scope", action="append", metavar="SCOPES", help="scopes, space- or comma-separated, repeatable"
    )
    token.add_argument("--groups", action="append", metavar="GROUPS", help="groups claim, comma-separated, repeatable")
    token.add_argument(
        "--claim", action="append", metavar="NAME=VALUE", help="any other claim, repeatable (JSON values allowed)"
    )
    token.add_argument(
        "--ttl", default=str(devtoken.DEFAULT_TTL_SECONDS), help="lifetime: seconds, or 15m, 1h, 7d (default 1h)"
    )
    token.add_argument(
        "--issued-at", metavar="EPOCH", help="the iat, in seconds since 1970 (default now); with --ttl, to test expiry"
    )
    token.add_argument("--typ", metavar="TYPE", help="the typ header, e.g. at+jwt (for JWT_TOKEN_TYPE)")
    token.add_argument("--jwks-out", type=Path, metavar="FILE", help="write the public JWKS to FILE")
    token.add_argument(
        "--env-out", type=Path, metavar="FILE", help="write the JWT handler's settings as JSON (for invoke --env)"
    )
    token.add_argument(
        "--print-env",
        action="store_true",
        help="print JWT_ISSUER, JWT_AUDIENCE, JWT_JWKS and JWT_ALGORITHMS as shell exports (on stderr)",
    )


def _token(args: argparse.Namespace) -> int:
    import shlex

    from authorizers import devtoken

    audiences = devtoken.split_items(args.aud or [devtoken.DEV_AUDIENCE])
    try:
        ttl = devtoken.parse_ttl(args.ttl)
        issued_at = _issued_at(args.issued_at)
        extra: dict[str, Any] = {}
        for text in args.claim or []:
            name, value = devtoken.parse_claim(text)
            if name in extra:
                raise devtoken.DevTokenError(f"--claim {name} is given twice")
            extra[name] = value
        claims = devtoken.claims_for(
            issuer=args.iss,
            subject=args.sub,
            audience=audiences[0] if len(audiences) == 1 else audiences,
            ttl_seconds=ttl,
            issued_at=issued_at,
            scopes=devtoken.split_items(args.scope or []),
            groups=devtoken.split_items(args.groups or []),
            extra=extra,
        )
        key, created = devtoken.load_or_create_key(args.key_dir, args.alg)
        token = devtoken.mint(key, claims, args.typ)
        settings = devtoken.jwt_environment(devtoken.directory_keys(args.key_dir), args.iss, ",".join(audiences))
    except devtoken.DevTokenError as exc:
        raise UsageError(str(exc)) from None
    if args.jwks_out is not None:
        _write_text(args.jwks_out, json.dumps(json.loads(settings["JWT_JWKS"]), indent=2) + "\n", "--jwks-out")
    if args.env_out is not None:
        _write_text(args.env_out, json.dumps(settings, indent=2) + "\n", "--env-out")
    if created:
        print(f"created a new development key: {key.path}", file=sys.stderr)
    print(
        f"note: signed with the DEVELOPMENT key {key.path} (kid {key.kid}), for local testing only; "
        "never let a deployed authorizer trust its JWKS",
        file=sys.stderr,
    )
    if args.print_env:
        for name, value in settings.items():
            print(f"export {name}={shlex.quote(value)}", file=sys.stderr)
    print(token)
    return EXIT_OK


def _issued_at(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"--issued-at {text!r}: expected whole seconds since 1970, e.g. 1700000000") from None
    if value < 0:
        raise UsageError("--issued-at must not be negative")
    return value


def _write_text(path: Path, text: str, option: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{option}: cannot write {str(path)!r}: {exc.strerror}") from None


if __name__ == "__main__":
    sys.exit(main())
