"""`roomwatch users add|passwd|remove|list`: the people who may sign in to the console.

    roomwatch users add NAME --role operator      asks for the password twice
    roomwatch users passwd NAME                   a new password (ends NAME's sessions)
    roomwatch users remove NAME
    roomwatch users list [--json]

The users live in `api.users_file` (default: users.yaml beside roomwatch.yaml). A password is
read from the terminal, or from the first line of standard input with `--password-stdin`
(for provisioning scripts); it never appears on a command line. The running daemon picks the
change up at the next request."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from pathlib import Path

from collector.accounts import (
    ROLES,
    UserEntry,
    check_password,
    default_users_file,
    hash_password,
    load_users,
    save_users,
)
from collector.config import DEFAULT_CONFIG, load_config
from core.timefmt import iso_time
from core.yamlsource import ConfigError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")
    common.add_argument("--file", help="the users file (instead of the config's)")

    p = sub.add_parser("users", help="add, change and remove the console's users")
    cmds = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    c = cmds.add_parser("add", parents=[common], help="add a user")
    c.add_argument("name")
    c.add_argument("--role", choices=ROLES, required=True)
    c.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    c.set_defaults(func=_add)

    c = cmds.add_parser("passwd", parents=[common], help="set a user's password")
    c.add_argument("name")
    c.add_argument("--role", choices=ROLES, help="also change the role")
    c.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    c.set_defaults(func=_passwd)

    c = cmds.add_parser("remove", parents=[common], help="remove a user")
    c.add_argument("name")
    c.set_defaults(func=_remove)

    c = cmds.add_parser("list", parents=[common], help="list users and roles")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_list)


def users_path(args: argparse.Namespace) -> Path:
    if args.file:
        return Path(args.file)
    config = load_config(args.config)
    return config.api.users_file or default_users_file(config.path)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _with_users(args: argparse.Namespace, change: str) -> int:
    try:
        path = users_path(args)
        users = load_users(path)
        name = args.name
        if change == "add":
            if name in users:
                raise ValueError(f"user {name!r} exists already (use `roomwatch users passwd`)")
        elif name not in users:
            raise ValueError(f"no user {name!r} in {path}")
        if change == "remove":
            del users[name]
        else:
            password = _read_password(args.password_stdin)
            check_password(password)
            role = args.role or users[name].role
            users[name] = UserEntry(
                name=name, role=role, password=hash_password(password), changed=time.time()
            )
        save_users(path, users)
    except ConfigError as exc:
        for item in exc.errors:
            print(f"error: {item}", file=sys.stderr)
        return 2
    except ValueError as exc:
        # pydantic's ValidationError is a ValueError: a bad name says what a name may be
        print(f"error: {exc}", file=sys.stderr)
        return 2
    verb = {"add": "added", "passwd": "updated", "remove": "removed"}[change]
    print(f"user {name} {verb} in {path}")
    return 0


def _add(args: argparse.Namespace) -> int:
    return _with_users(args, "add")


def _passwd(args: argparse.Namespace) -> int:
    return _with_users(args, "passwd")


def _remove(args: argparse.Namespace) -> int:
    return _with_users(args, "remove")


def _list(args: argparse.Namespace) -> int:
    try:
        path = users_path(args)
        users = load_users(path)
    except ConfigError as exc:
        for item in exc.errors:
            print(f"error: {item}", file=sys.stderr)
        return 2
    rows = sorted(users.values(), key=lambda u: u.name)
    if args.json:
        for u in rows:
            print(json.dumps({"name": u.name, "role": u.role, "changed": u.changed}))
        return 0
    if not rows:
        print(f"no users in {path} (add one: roomwatch users add NAME --role admin)")
        return 0
    width = max(len(u.name) for u in rows)
    for u in rows:
        changed = iso_time(u.changed)
        print(f"{u.name.ljust(width)}  {u.role.ljust(8)}  password set {changed}")
    return 0
