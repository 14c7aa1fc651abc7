"""Every message, field, enum, enum value, service and RPC of zvh.v1 has a comment.

The contracts are read by people in other regions and other organisations who never see our
Python: the comment is the documentation (meaning, unit, limits). protoc is run with
``--include_source_info`` on every ``.proto`` file under proto/zvh/v1 (so a new file is checked
without anyone listing it) and each element's leading comment, the ``//`` lines directly above
it, must not be empty. A comment on the same line after the element does not count: one style.
Run by `make proto-check` and tests/test_proto.py.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from google.protobuf import descriptor_pb2

PROTO_DIR = Path(__file__).resolve().parent
PACKAGE = "zvh/v1"

# Field numbers of the descriptor messages, as SourceCodeInfo paths use them (descriptor.proto).
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 2, 3, 4
_ENUM_VALUE = 2
_SERVICE_METHOD = 2

_Element = tuple[tuple[int, ...], str]  # (SourceCodeInfo path, "kind full.name")


def descriptor_set(root: Path = PROTO_DIR) -> descriptor_pb2.FileDescriptorSet:
    """The descriptors of every ``root/zvh/v1/*.proto`` with their comments (source info)."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(p.relative_to(root).as_posix() for p in (root / PACKAGE).glob("*.proto"))
    if not protos:
        raise SystemExit(f"no .proto files under {root / PACKAGE}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "zvh.pb"
        args = [
            "protoc",
            f"-I{root}",
            f"-I{well_known}",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            *protos,
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(out.read_bytes())
    return fds


def _elements(fdp: descriptor_pb2.FileDescriptorProto) -> Iterator[_Element]:
    """Every element of ``fdp`` that needs a comment."""
    pkg = fdp.package

    def enum(path: tuple[int, ...], e: descriptor_pb2.EnumDescriptorProto, scope: str) -> Iterator[_Element]:
        yield path, f"enum {scope}.{e.name}"
        for i, v in enumerate(e.value):
            # Enum values are scoped like their enum's siblings (C++ rules), but naming the enum reads better.
            yield (*path, _ENUM_VALUE, i), f"enum value {scope}.{e.name}.{v.name}"

    def message(path: tuple[int, ...], m: descriptor_pb2.DescriptorProto, scope: str) -> Iterator[_Element]:
        name = f"{scope}.{m.name}"
        yield path, f"message {name}"
        for i, f in enumerate(m.field):
            yield (*path, _MESSAGE_FIELD, i), f"field {name}.{f.name}"
        for i, nested in enumerate(m.nested_type):
            if nested.options.map_entry:  # generated for map<,> fields; the field has the comment
                continue
            yield from message((*path, _MESSAGE_NESTED, i), nested, name)
        for i, e in enumerate(m.enum_type):
            yield from enum((*path, _MESSAGE_ENUM, i), e, name)

    for i, m in enumerate(fdp.message_type):
        yield from message((_FILE_MESSAGE, i), m, pkg)
    for i, e in enumerate(fdp.enum_type):
        yield from enum((_FILE_ENUM, i), e, pkg)
    for i, s in enumerate(fdp.service):
        yield (_FILE_SERVICE, i), f"service {pkg}.{s.name}"
        for j, rpc in enumerate(s.method):
            yield (_FILE_SERVICE, i, _SERVICE_METHOD, j), f"rpc {pkg}.{s.name}.{rpc.name}"


def missing_comments(fds: descriptor_pb2.FileDescriptorSet) -> list[str]:
    """ "file: kind name" of every element without a leading comment."""
    missing = []
    for fdp in fds.file:
        if not fdp.name.startswith(f"{PACKAGE}/"):
            continue  # google/protobuf/... when a caller built the set with its imports
        comments = {tuple(loc.path): loc.leading_comments for loc in fdp.source_code_info.location}
        if not comments:
            raise ValueError(f"{fdp.name} has no source info: build it with --include_source_info")
        for path, what in _elements(fdp):
            if not comments.get(path, "").strip():
                missing.append(f"{fdp.name}: {what}")
    return missing


def main() -> int:
    missing = missing_comments(descriptor_set())
    if missing:
        print("these contract elements have no comment:", *missing, sep="\n  ", file=sys.stderr)
        return 1
    print("every message, field, enum value, service and RPC has a comment")
    return 0


if __name__ == "__main__":
    sys.exit(main())
