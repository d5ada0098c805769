"""`python -m paperplan_local.slack [--port 8025]`: the local Slack stand-in in the foreground."""

from __future__ import annotations

import argparse

from paperplan_local.runner import serve_forever
from paperplan_local.slack import DEV_TOKEN, build_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--token", default=DEV_TOKEN)
    args = parser.parse_args()
    print(f"Local Slack on http://127.0.0.1:{args.port}/ (SLACK_BASE_URL=http://127.0.0.1:{args.port}/api/)")
    serve_forever(build_app(token=args.token), args.port)


if __name__ == "__main__":
    main()
