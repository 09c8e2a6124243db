"""The ``autospec`` command line.

``autospec train {linear,eigen,invsqrt} [--quick|--full] [--seed S] [--objective cg|paper]
[--out DIR] [--resume]`` regenerates a shipped weight file (``--out`` defaults to
``autospec/plugins/weights``).  ``autospec list`` shows the registered plugins.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path


def _cmd_train(args) -> int:
    try:
        from .engine import train as tr  # imports torch
    except ImportError as exc:
        print(f"autospec train needs torch: pip install 'autospec[train]' ({exc})", file=sys.stderr)
        return 2
    cfg = tr.FULL if args.full else tr.QUICK
    if args.task not in tr.TASK_DEFAULTS:
        print(f"autospec train: the {args.task!r} engine is not implemented yet "
              f"(available: {', '.join(tr.TASK_DEFAULTS)})", file=sys.stderr)
        return 2
    cfg = replace(cfg, task=args.task, seed=args.seed, **tr.TASK_DEFAULTS[args.task])
    if args.objective:
        cfg = replace(cfg, objective=args.objective)
    for name in ("pre_steps", "post_steps", "n_train", "n_val", "batch"):
        v = getattr(args, name)
        if v is not None:
            cfg = replace(cfg, **{name: v})
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "plugins" / "weights"
    try:
        tr.train(cfg, out, resume=args.resume)
    except ValueError as exc:
        print(f"autospec train: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_list(args) -> int:
    from . import plugin_info
    for row in plugin_info():
        status = "ok" if row["loads"] else f"FAILS: {row['error']}"
        print(f"{row['name']:12s} {status:6s} {row['source']}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="autospec", description="autospec command line")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train the learned engine and write its weight file")
    t.add_argument("task", choices=["linear", "eigen", "invsqrt"])
    g = t.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="the quick config (default; minutes on 2 cores)")
    g.add_argument("--full", action="store_true", help="the full config of App. D (hours)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--objective", choices=["cg", "paper"], default=None,
                   help="linear systems: 'cg' (default, CG-aware) or 'paper' (eq. (22))")
    t.add_argument("--out", default=None, help="output directory (default: the package's weights folder)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    for name in ("pre-steps", "post-steps", "n-train", "n-val", "batch"):
        t.add_argument(f"--{name}", type=int, default=None, help="override the config")
    t.set_defaults(func=_cmd_train)
    ls = sub.add_parser("list", help="registered plugins, where they come from, whether they load")
    ls.set_defaults(func=_cmd_list)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
