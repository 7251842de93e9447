"""`okta-pipeline simulate`: serve Okta's System Log API from a seeded org or a recording."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from pathlib import Path

from okta_pipeline.lib.okta_simulator.auth import OAuthClient
from okta_pipeline.lib.okta_simulator.factory import SimulatorOptions, build_app
from okta_pipeline.lib.okta_simulator.server import SimulatorServer
from okta_pipeline.lib.okta_simulator.sources import PersistenceDelay, ReplaySource


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "simulate",
        help="serve a simulated Okta System Log API on 127.0.0.1",
        description="Serves GET /api/v1/logs and POST /oauth2/v1/token like Okta does, over a "
        "seeded synthetic org with injected attacks, or over recorded events (--replay).",
    )
    parser.add_argument("--port", type=int, default=8931)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--events-per-minute", type=float, default=60.0)
    parser.add_argument("--no-attacks", action="store_true", help="ordinary activity only")
    parser.add_argument(
        "--rate-limit-per-minute",
        type=int,
        default=50,
        help="requests per rate-limit window for /api/v1/logs (org-wide)",
    )
    parser.add_argument(
        "--rate-limit-window-seconds",
        type=int,
        default=60,
        help="window length; Okta's is 60, shorter ones make tests fast",
    )
    parser.add_argument("--max-in-flight", type=int, default=15, help="concurrency cap")
    parser.add_argument(
        "--late-fraction", type=float, default=0.02, help="share of events persisted late"
    )
    parser.add_argument(
        "--late-max-seconds",
        type=float,
        default=600.0,
        help="longest persistence delay of a late event",
    )
    parser.add_argument("--api-token", help="SSWS token to accept (default: a random one, printed)")
    parser.add_argument("--oauth-client-id", help="accept this OAuth service app")
    parser.add_argument(
        "--oauth-public-jwk", type=Path, help="the service app's public key as a JWK file"
    )
    parser.add_argument("--require-dpop", action="store_true", help="the service app needs DPoP")
    parser.add_argument("--replay", type=Path, help="serve recorded LogEvents (JSON Lines)")
    parser.add_argument(
        "--replay-shift",
        default="0",
        help="seconds to add to recorded times, or 'latest' to end them now",
    )
    parser.add_argument(
        "--truth-out",
        type=Path,
        help="append the served attack events with their scenario name here",
    )
    parser.set_defaults(handler=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    token = args.api_token or secrets.token_urlsafe(24)
    clients = {}
    if args.oauth_client_id:
        if args.oauth_public_jwk is None:
            raise ValueError("--oauth-client-id needs --oauth-public-jwk")
        jwk = json.loads(args.oauth_public_jwk.read_text())
        clients[args.oauth_client_id] = OAuthClient(args.oauth_client_id, jwk, args.require_dpop)
    options = SimulatorOptions(
        seed=args.seed,
        events_per_minute=args.events_per_minute,
        attacks=not args.no_attacks,
        rate_limit_per_window=args.rate_limit_per_minute,
        rate_limit_window_seconds=args.rate_limit_window_seconds,
        max_in_flight=args.max_in_flight,
        persistence=PersistenceDelay(
            late_fraction=args.late_fraction, late_max_ms=int(args.late_max_seconds * 1000)
        ),
        api_tokens=frozenset({token}),
        oauth_clients=clients,
        replay=args.replay,
        replay_shift_ms=_replay_shift_ms(args.replay, args.replay_shift),
        truth_out=args.truth_out,
    )
    app = build_app(options)
    if isinstance(app.source, ReplaySource) and app.source.skipped:
        print(
            f"skipped {len(app.source.skipped)} unreadable lines, first: {app.source.skipped[0]}",
            file=sys.stderr,
        )
    server = SimulatorServer(app, port=args.port)
    print(f"Okta simulator listening on {server.base_url}", file=sys.stderr)
    if not args.api_token:
        print(f"Accepting the SSWS token printed below (export it as OKTA_API_TOKEN):\n{token}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        print(f"served {app.stats}", file=sys.stderr)
    return 0


def _replay_shift_ms(replay: Path | None, shift: str) -> int:
    if replay is None or shift in ("", "0"):
        return 0
    if shift == "latest":
        newest = ReplaySource.newest_published_ms(replay)
        return 0 if newest is None else int(time.time() * 1000) - 60_000 - newest
    try:
        return int(float(shift) * 1000)
    except ValueError:
        raise ValueError("--replay-shift takes a number of seconds or 'latest'") from None
