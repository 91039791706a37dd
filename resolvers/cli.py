"""`picgraph`: serve, bootstrap, token, export-schema, cleanup, recount."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from infra.settings import Settings, SettingsError
from resolvers.cli_edge import (
    CommandError,
    OneLineArgumentParser,
    describe,
    log_to_terminal,
    report_failure,
)
from resolvers.dev_endpoint import use_local_aws
from resolvers.emulator_process import Emulator, start_emulator


def main(argv: list[str] | None = None) -> int:
    """Every error ends as one line on stderr and an exit code (--traceback for details)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is not _serve:
        log_to_terminal(show_tracebacks=args.traceback)
    try:
        result: int = args.command(args)
    except SettingsError as exc:
        return report_failure(exc, f"configuration error: {exc}", 2, show_traceback=args.traceback)
    except CommandError as exc:
        return report_failure(exc, str(exc), exc.exit_code, show_traceback=args.traceback)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return report_failure(exc, describe(exc), 1, show_traceback=args.traceback)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(prog="picgraph", description=__doc__)
    parser.add_argument(
        "--traceback", action="store_true", help="print the full traceback of an error"
    )
    commands = parser.add_subparsers(required=True, metavar="command")

    serve = commands.add_parser("serve", help="run the GraphQL API with GraphiQL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="API processes (uvicorn workers); e.g. one per core",
    )
    serve.add_argument(
        "--aws",
        action="store_true",
        help="use real AWS (no emulator) when no AWS_ENDPOINT_URL is set",
    )
    serve.set_defaults(command=_serve)

    bootstrap = commands.add_parser("bootstrap", help="create the table and bucket if missing")
    _add_aws_flag(bootstrap)
    bootstrap.set_defaults(command=_bootstrap)

    token = commands.add_parser("token", help="print an HS256 JWT for a user")
    token.add_argument("--user", required=True, help="the viewer id (the JWT's sub)")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.set_defaults(command=_token)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", default="schema.graphql")
    export.set_defaults(command=_export_schema)

    cleanup = commands.add_parser("cleanup", help="purge expired deletions and abandoned uploads")
    cleanup.add_argument("--dry-run", action="store_true", help="report, change nothing")
    _add_aws_flag(cleanup)
    cleanup.set_defaults(command=_cleanup)

    recount = commands.add_parser(
        "recount",
        help="rebuild the totalCount counters of owners and tags from the indexes (Queries)",
    )
    recount.add_argument("--owner", action="append", default=[], help="an owner id (repeatable)")
    recount.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    _add_aws_flag(recount)
    recount.set_defaults(command=_recount)
    return parser


def _add_aws_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--aws",
        action="store_true",
        help="act on real AWS (your credentials) when no AWS_ENDPOINT_URL is set; without it "
        "the command uses the emulator of a running `make dev`, or refuses",
    )


def _token(args: argparse.Namespace) -> int:
    from resolvers.identity import issue_token

    settings = Settings.from_env()
    if settings.jwt_secret is None:
        print("picgraph: PICGRAPH_JWT_SECRET is not set", file=sys.stderr)
        return 2
    longest = settings.max_token_lifetime_seconds
    if not 1 <= args.ttl <= longest:
        print(
            f"picgraph: --ttl must be between 1 and {longest} seconds "
            "(PICGRAPH_MAX_TOKEN_LIFETIME_SECONDS: the API refuses longer-lived tokens)",
            file=sys.stderr,
        )
        return 2
    print(issue_token(args.user, settings.jwt_secret, ttl_seconds=args.ttl))
    return 0


def _export_schema(args: argparse.Namespace) -> int:
    from resolvers.schema import export_sdl

    Path(args.output).write_text(export_sdl())
    print(f"wrote {args.output}")
    return 0


def _bootstrap(args: argparse.Namespace) -> int:
    use_local_aws(real_aws=args.aws)
    settings = Settings.from_env()
    from infra.provisioning import provision

    created = provision(settings)
    for name, was_created in created.items():
        print(f"{name}: {'created' if was_created else 'already exists'}")
    return 0


def _cleanup(args: argparse.Namespace) -> int:
    from resolvers.bootstrap import get_app

    use_local_aws(real_aws=args.aws)
    report = get_app().cleanup.run(dry_run=args.dry_run)
    print(json.dumps(report.as_dict(), indent=2))
    return 0


def _recount(args: argparse.Namespace) -> int:
    """For images written before counters existed; exact when they do not move meanwhile."""
    from infra.dynamodb import DynamoImageRepository
    from resolvers.bootstrap import get_app
    from services.validation import normalize_tags

    if not args.owner and not args.tag:
        raise CommandError("name at least one --owner or --tag to recount", exit_code=2)
    use_local_aws(real_aws=args.aws)
    repository = get_app().repository
    if not isinstance(repository, DynamoImageRepository):
        raise CommandError("recount needs the DynamoDB repository")
    tags = normalize_tags(args.tag, field=("--tag",))
    print(json.dumps(repository.recount(owners=args.owner, tags=tags), indent=2))
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from resolvers.bootstrap import build_app, set_app
    from resolvers.logs import configure_logging
    from resolvers.serving import EVENT_LOOP, NoDelayHTTPProtocol

    emulator: Emulator | None = None
    if not Settings.from_env().custom_endpoint and not args.aws:
        emulator = start_emulator()
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    if emulator is not None:
        from infra.provisioning import provision
        from resolvers import dev_endpoint

        provision(settings)
        dev_endpoint.record(os.environ["AWS_ENDPOINT_URL"], settings)
    set_app(build_app(settings))
    base_url = f"http://{args.host}:{args.port}"
    graphql_url = f"{base_url}/graphql"
    print(f"\n  GraphQL + GraphiQL:  {graphql_url}")
    if emulator is not None:
        print(f"  S3 + DynamoDB:       {os.environ['AWS_ENDPOINT_URL']} (embedded moto emulator)")
    else:
        print("  S3 + DynamoDB:       " + (settings.endpoint_url or "AWS (your credentials)"))
    print(f"  API processes:       {args.workers} (--workers)")
    for line in _dev_hints(settings, base_url):
        print(line)
    print()
    try:
        # Workers are fresh processes: each wires its own App from the same environment.
        uvicorn.run(
            "resolvers.cli:serve_worker_app" if args.workers > 1 else serve_worker_app(),
            factory=args.workers > 1,
            workers=args.workers,
            http=NoDelayHTTPProtocol,
            loop=EVENT_LOOP,
            host=args.host,
            port=args.port,
            log_level="warning",
        )
    finally:
        if emulator is not None:
            emulator.stop()
    return 0


def _dev_hints(settings: Settings, base_url: str) -> list[str]:
    """A ready-made token only for the development secret: a real secret's tokens are real."""
    from resolvers.identity import issue_token

    if settings.jwt_secret is None:
        return ["  Auth:                upstream authorizers only (PICGRAPH_AUTH_MODE=upstream)"]
    if not settings.uses_dev_jwt_secret:
        return ["  Header for GraphiQL: get a token with `picgraph token --user <id>`"]
    ttl = min(12 * 3600, settings.max_token_lifetime_seconds)
    token = issue_token("dev-user", settings.jwt_secret, ttl_seconds=ttl)
    header = '  Header for GraphiQL: {"Authorization": "Bearer ' + token + '"}'
    return [header, *dev_links(base_url, token)]


def dev_links(base_url: str, token: str) -> list[str]:
    """URLs that open GraphiQL and the gallery already signed in with `token`."""
    from urllib.parse import quote

    headers = quote(json.dumps({"Authorization": f"Bearer {token}"}), safe="")
    return [
        f"  GraphiQL, signed in: {base_url}/graphql?headers={headers}",
        f"  Gallery, signed in:  {base_url}/#token={quote(token, safe='')}",
    ]


def serve_worker_app() -> Any:
    """The ASGI app of one `serve` process, wired once per process from the environment."""
    from resolvers.bootstrap import get_app
    from resolvers.http import create_asgi_app
    from resolvers.logs import configure_logging

    configure_logging(get_app().settings.log_level)
    return create_asgi_app(cors_origins=("*",))


if __name__ == "__main__":
    raise SystemExit(main())
