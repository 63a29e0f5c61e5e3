"""Two versions of the code served side by side on one database, measured in alternation (issue 22).

    BENCH_DATABASE_URL=postgres://... .venv/bin/python bench/side_by_side.py --old DIR
        [--paths NAME ...] [--rounds 2] [--seconds 10] [--clients 8] [--variants old:requests old:fast new:fast]

On a shared machine, runs of `bench/load.py` minutes apart differ more by what else runs than by the code.
This starts gunicorn (3 workers, debug off, Redis cache, as `bench/load.py` configures it) on this tree
("new") and on ``--old`` (another checkout of the project, e.g. ``git worktree add DIR COMMIT``) at the same
time, warms both, then drives each path of ``bench/load.PATHS`` with locust for ``--seconds``, alternating
the variants (server, locust client) within each round. Besides locust's p50, p95 and throughput it prints
the CPU of the server's gunicorn workers per answered request (from /proc: PostgreSQL's and Redis's share
not included) and the load average: the CPU per request is what to compare under load.
No Celery worker and no writes: read paths only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import load  # noqa: E402  (the environment, users, locust runs of bench/load.py)

TICK = os.sysconf("SC_CLK_TCK")


def workers_cpu(master: int) -> float:
    """CPU seconds (user and system) of the processes whose parent is ``master`` (gunicorn's workers)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, type=Path, help="the other checkout of the project")
    parser.add_argument(
        "--paths", nargs="+", choices=list(load.PATHS), default=["overview", "partner page", "API list"]
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--variants", nargs="+", default=["old:requests", "old:fast", "new:fast"], help="server:client pairs"
    )
    options = parser.parse_args()
    trees = {"old": options.old.resolve(), "new": ROOT}
    workdir = Path(tempfile.mkdtemp(prefix="bench-side-by-side-"))
    ports = {"old": load.free_port()}
    ports["new"] = load.production_check.free_port()
    env = load.environment(ports["old"], workdir, os.environ.get("BENCH_DATABASE_URL", load.DEFAULT_DB))
    subprocess.run([env["PYTHON"], "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    gunicorn = str(Path(env["PYTHON"]).parent / "gunicorn")
    processes: dict[str, subprocess.Popen] = {}
    try:
        for name, tree in trees.items():
            bind = f"{load.HOST}:{ports[name]}"
            processes[name] = subprocess.Popen(
                [gunicorn, "config.wsgi:application", "--bind", bind, "--workers", "3", "--timeout", "60"],
                cwd=tree,
                env={**env, "GUNICORN_BIND": bind},
                stdout=(workdir / f"{name}.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        for name, process in processes.items():
            load.wait_healthy(ports[name], {name: process})
        setup = load.manage_shell(env, load.SETUP.replace("PLANNERS", "0"))
        common = {"LOAD_SESSION": setup["session"], "LOAD_TOKEN": setup["token"], "LOAD_SCENARIO": "read"}
        paths = {name: load.PATHS[name] for name in options.paths}
        for name in processes:
            load.warm(env, workdir, ports[name], {**common, "LOAD_CLIENT": "fast"}, paths)
        print("| round | server, client | path | p50, p95 | throughput | server CPU per request | load average |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for number in range(1, options.rounds + 1):
            for variant in options.variants:
                server, client = variant.split(":")
                for name, path in paths.items():
                    loadavg = os.getloadavg()[0]
                    before = workers_cpu(processes[server].pid)
                    extra = {**common, "LOAD_CLIENT": client, "LOAD_NAME": name, "LOAD_PATH": path}
                    rows = load.drive(
                        env,
                        workdir,
                        ports[server],
                        clients=options.clients,
                        seconds=options.seconds,
                        users=["Reader"],
                        extra=extra,
                    )
                    row = rows.get(name) or {"count": 0, "failures": 0, "p50": 0, "p95": 0, "rps": 0}
                    cpu = (workers_cpu(processes[server].pid) - before) / max(row["count"], 1) * 1000
                    print(
                        f"| {number} | {server}, {client} | {name} | {row['p50']:.0f} ms, {row['p95']:.0f} ms "
                        f"| {row['rps']:.1f} req/s, {row['count']} requests, {row['failures']} failed "
                        f"| {cpu:.1f} ms | {loadavg:.1f} |",
                        flush=True,
                    )
    finally:
        load.production_check.stop(processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
