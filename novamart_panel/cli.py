"""`novamart-panel serve | generate | validate | export-wasm | report`."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

SERVE_SCRIPT = Path(__file__).with_name("serve_app.py")
SETUP_SCRIPT = Path(__file__).with_name("serve_setup.py")   # once per server process, see its docstring


def serve_environment(data: str | os.PathLike | None = None) -> dict[str, str]:
    """The environment of the `panel serve` process: the data folder, and the C allocator for Python objects.

    With Python's own small-object allocator a server's memory stays at its peak after sessions close
    (its arenas are rarely completely free); with malloc, the heap trim done when sessions end
    (session.py) gives it back to the system. Set PYTHONMALLOC yourself to choose otherwise.
    """
    env = dict(os.environ)
    if data:
        env["NOVAMART_DATA"] = str(Path(data).expanduser().resolve())
    env.setdefault("PYTHONMALLOC", "malloc")
    return env


def serve_command(port: int, *beside: Path, num_procs: int = 1) -> list[str]:
    """The `panel serve` command line of the app on `port`, with the scripts `beside` served next to it (a
    test's probe page); options that follow are passed to `panel serve`."""
    return [sys.executable, "-m", "panel", "serve", str(SERVE_SCRIPT), *map(str, beside), "--setup", str(SETUP_SCRIPT),
            "--port", str(port), "--num-procs", str(num_procs), "--index", "serve_app"]


def _serve(args) -> int:
    env = serve_environment(args.data)
    command = serve_command(args.port, num_procs=args.num_procs)
    if args.address:
        command += ["--address", args.address]
    for origin in args.allow_websocket_origin or []:
        command += ["--allow-websocket-origin", origin]
    if args.basic_auth:
        command += ["--basic-auth", args.basic_auth, "--cookie-secret", args.cookie_secret or os.urandom(16).hex()]
    if args.show:
        command.append("--show")
    command += args.panel_args
    return subprocess.call(command, env=env)


def _generate(args) -> int:
    from .data.generator import generate

    paths = generate(args.out, seed=args.seed, scale=args.scale, optional=not args.no_optional,
                     campaign_rows=args.campaign_rows, customers=args.customers, orders=args.orders)
    print(f"Wrote {len(paths)} files to {Path(args.out).resolve()}")
    return 0


def _validate(args) -> int:
    from .data.store import DataStore

    folder = Path(args.folder).expanduser().resolve()
    report = DataStore(folder).report
    print(report.format_text())
    return 0 if report.ok else 1


def _export_wasm(args) -> int:
    from .wasm import export_wasm

    index = export_wasm(args.out, data_dir=args.data)
    print(f"Wrote the WebAssembly page to {index}")
    return 0


def _report(args) -> int:
    from .report import write_report

    path = write_report(args.out, data_dir=args.data)
    print(f"Wrote the insights report to {path}")
    return 0


def _positive_int(text: str) -> int:
    """A whole number ≥ 1; underscores and commas group digits (10_000_000, 10,000,000)."""
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="novamart-panel", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the app with `panel serve`")
    serve.add_argument("--data", help="data folder (default: $NOVAMART_DATA or the packaged data/)")
    serve.add_argument("--port", type=int, default=5006)
    serve.add_argument("--address", help="address to listen on (default: all interfaces per Panel)")
    serve.add_argument("--num-procs", type=int, default=1, help="worker processes for more users")
    serve.add_argument("--allow-websocket-origin", action="append", help="allowed host[:port] (repeatable)")
    serve.add_argument("--basic-auth", help="password or credentials file: require a login")
    serve.add_argument("--cookie-secret", help="secret for login cookies (default: random per start)")
    serve.add_argument("--show", action="store_true", help="open a browser")
    serve.add_argument("panel_args", nargs=argparse.REMAINDER, help="further `panel serve` options")
    serve.set_defaults(run=_serve)

    generate = commands.add_parser("generate", help="write a deterministic synthetic data set")
    generate.add_argument("--out", required=True, help="folder to write")
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--scale", type=float, default=1.0, help="multiplies campaign, customer, lead, order rows")
    generate.add_argument("--campaign-rows", type=_positive_int, metavar="N",
                          help="campaign × day rows (default: 5,858 × scale)")
    generate.add_argument("--customers", type=_positive_int, metavar="N", help="customers (default: 5,000 × scale)")
    generate.add_argument("--orders", type=_positive_int, metavar="N",
                          help="order rows in all, at least one per customer (default: what the customers' "
                               "purchase counts add up to)")
    generate.add_argument("--no-optional", action="store_true", help="skip the optional files")
    generate.set_defaults(run=_generate)

    validate = commands.add_parser("validate", help="check a data folder against the contract")
    validate.add_argument("folder")
    validate.set_defaults(run=_validate)

    wasm = commands.add_parser("export-wasm", help="export a standalone WebAssembly page")
    wasm.add_argument("--out", required=True)
    wasm.add_argument("--data", help="data folder to bundle (default: the packaged data/)")
    wasm.set_defaults(run=_export_wasm)

    report = commands.add_parser("report", help="write the HTML insights report")
    report.add_argument("--out", required=True, help="the .html file to write")
    report.add_argument("--data", help="data folder (default: the packaged data/)")
    report.set_defaults(run=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"novamart-panel {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
