"""Regenerate the committed protobuf and gRPC code from ``protos/``.

Example:
    python -m recsys.api.generate          # rewrite recsys/api/v1/*_pb2*.py(i)
    python -m recsys.api.generate --check  # fail when the committed code differs (CI)
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = ROOT / "protos"
PACKAGE_DIR = Path("recsys") / "api" / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def proto_files() -> list[Path]:
    """The .proto files of the API, relative to ``protos/``."""
    return sorted(p.relative_to(PROTO_ROOT) for p in (PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))


def generate(out_root: Path) -> list[Path]:
    """Run ``grpc_tools.protoc`` into ``out_root`` and return the generated files (relative).

    Raises:
        RuntimeError: protoc failed (its message is on stderr).
    """
    from grpc_tools import protoc  # dev dependency: only needed to regenerate

    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *(str(p) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed; see the message above")
    return sorted(
        p.relative_to(out_root)
        for p in (out_root / PACKAGE_DIR).iterdir()
        if p.name.endswith(GENERATED_SUFFIXES)
    )


def committed() -> list[Path]:
    """The generated files currently in the source tree (relative)."""
    return sorted(
        p.relative_to(ROOT)
        for p in (ROOT / PACKAGE_DIR).iterdir()
        if p.name.endswith(GENERATED_SUFFIXES)
    )


def check() -> list[str]:
    """Regenerate into a temporary directory and list every difference from the tree."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        problems = [f"{p}: not committed" for p in fresh if not (ROOT / p).exists()]
        problems += [f"{p}: no longer generated" for p in committed() if p not in fresh]
        problems += [
            f"{p}: differs from protos/"
            for p in fresh
            if (ROOT / p).exists() and not filecmp.cmp(Path(tmp) / p, ROOT / p, shallow=False)
        ]
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail on drift instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            print("Run `make proto` and commit the result.", file=sys.stderr)
            return 1
        print(f"generated code matches {len(proto_files())} proto files")
        return 0
    for path in generate(ROOT):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
