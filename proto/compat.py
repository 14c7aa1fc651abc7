"""Breaking-change check for the released zvh.v1 contracts.

``released.json`` records every message field (number, type, label), enum
value and RPC that has been released. A change is breaking when any of them
disappears or changes; adding new ones is fine. ``--release`` records the
current contracts as released (run it when a version ships, review the diff).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FileDescriptor

RELEASED = Path(__file__).resolve().parent / "zvh" / "v1" / "released.json"


def _message(desc: Descriptor, out: dict[str, Any]) -> None:
    out["messages"][desc.full_name] = {
        f.name: [f.number, f.type, f.message_type.full_name if f.message_type else "", f.is_repeated]
        for f in desc.fields
    }
    for nested in desc.nested_types:
        _message(nested, out)
    for enum in desc.enum_types:
        _enum(enum, out)


def _enum(desc: EnumDescriptor, out: dict[str, Any]) -> None:
    out["enums"][desc.full_name] = {v.name: v.number for v in desc.values}


def snapshot() -> dict[str, Any]:
    """The current contracts, from the generated descriptors."""
    import gedeeld.zvh.v1 as pkg

    out: dict[str, Any] = {"messages": {}, "enums": {}, "services": {}}
    for mod in pkgutil.iter_modules(pkg.__path__):
        if not mod.name.endswith("_pb2"):
            continue
        fd: FileDescriptor = importlib.import_module(f"gedeeld.zvh.v1.{mod.name}").DESCRIPTOR
        for m in fd.message_types_by_name.values():
            _message(m, out)
        for e in fd.enum_types_by_name.values():
            _enum(e, out)
        for s in fd.services_by_name.values():
            out["services"][s.full_name] = {
                m.name: [
                    m.input_type.full_name,
                    m.output_type.full_name,
                    m.client_streaming,
                    m.server_streaming,
                ]
                for m in s.methods
            }
    return out


def breaking_changes(released: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Every released element that is gone or changed in ``current``."""
    problems: list[str] = []
    for kind in ("messages", "enums", "services"):
        for name, members in released[kind].items():
            now = current[kind].get(name)
            if now is None:
                problems.append(f"{kind[:-1]} {name} was removed")
                continue
            for member, spec in members.items():
                if member not in now:
                    problems.append(f"{name}.{member} was removed (released as {spec})")
                elif now[member] != spec:
                    problems.append(f"{name}.{member} changed from {spec} to {now[member]}")
    # A new field may not reuse the number of a released one under another name.
    for name, fields in released["messages"].items():
        taken = {spec[0]: f for f, spec in fields.items()}
        for f, spec in current["messages"].get(name, {}).items():
            if spec[0] in taken and taken[spec[0]] != f:
                problems.append(f"{name}.{f} reuses field number {spec[0]} of {taken[spec[0]]}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", action="store_true", help="record the current contracts")
    ns = parser.parse_args()
    current = snapshot()
    if ns.release:
        RELEASED.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        print(f"recorded {RELEASED}")
        return 0
    problems = breaking_changes(json.loads(RELEASED.read_text()), current)
    for p in problems:
        print("breaking:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
