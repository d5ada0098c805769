"""Run the SP-API stand-in in the foreground: ``python -m paperplan_local.spapi --port 8701``."""

from __future__ import annotations

import argparse

from paperplan_local.runner import LOOPBACK, serve_forever

from . import DEV_CLIENT_ID, DEV_REFRESH_TOKEN, build_app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=8701)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rate-limit-scale", type=float, default=1.0)
    ap.add_argument("--processing-delay-s", type=float, default=2.0)
    ap.add_argument("--fault-injection", action="store_true", help="enable the /_test endpoints")
    args = ap.parse_args()
    app = build_app(
        seed=args.seed,
        rate_limit_scale=args.rate_limit_scale,
        processing_delay_s=args.processing_delay_s,
        enable_fault_injection=args.fault_injection,
    )
    url = f"http://{LOOPBACK}:{args.port}"
    print(
        f"SP-API stand-in on {url}  (LWA: {url}/auth/o2/token, client id {DEV_CLIENT_ID}, "
        f"refresh token {DEV_REFRESH_TOKEN}; sandbox vectors under {url}/sandbox)",
        flush=True,
    )
    serve_forever(app, args.port)


if __name__ == "__main__":
    main()
