"""`python -m paperplan_local.ads [--port 8704]`: the local Ads stand-in in the foreground."""

from __future__ import annotations

import argparse

from paperplan_local.ads import build_app
from paperplan_local.runner import serve_forever


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8704)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--processing-delay", type=float, default=2.0, help="Seconds until a report completes")
    parser.add_argument("--fault-injection", action="store_true", help="Enable /_test/* (tests only)")
    args = parser.parse_args()
    print(f"Local Amazon Ads on http://127.0.0.1:{args.port} (LWA: /auth/o2/token)")
    serve_forever(
        build_app(
            seed=args.seed, processing_delay_s=args.processing_delay, enable_fault_injection=args.fault_injection
        ),
        args.port,
    )


if __name__ == "__main__":
    main()
