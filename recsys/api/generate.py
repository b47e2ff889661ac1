"""Regenerate the committed protobuf and gRPC code from ``protos/``.

Example:
    python -m recsys.api.generate               # rewrite recsys/api/v1/*_pb2*.py(i)
    python -m recsys.api.generate --typescript  # and clients/typescript + recsys/webapp/vendor
    python -m recsys.api.generate --check       # fail when committed code differs (CI); the
                                                # TypeScript part runs once `npm ci` was run
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


TS_DIR = ROOT / "clients" / "typescript"
TS_GENERATED = Path("src") / "gen"
WEB_BUNDLE = ROOT / "recsys" / "webapp" / "vendor" / "liner-client.js"
ESBUILD_ARGS = ("--bundle", "--format=esm", "--minify", "--legal-comments=none", "--target=es2020")


def _tree(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def check_typescript() -> tuple[list[str], str]:
    """Regenerate the TypeScript client (``buf generate`` with protoc-gen-es) and the web
    app's bundle of it (esbuild) into a temporary directory and list every difference.

    Returns:
        (problems, note): ``note`` says why the check was skipped ("" when it ran), which is
        when ``npm ci`` has not been run in ``clients/typescript``.
    """
    import subprocess

    tools = TS_DIR / "node_modules" / ".bin"
    if not (tools / "buf").exists() or not (tools / "esbuild").exists():
        return [], "TypeScript check skipped: run `npm ci` in clients/typescript first"
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        subprocess.run([tools / "buf", "generate", "--output", out], cwd=TS_DIR, check=True)
        fresh, committed_ts = _tree(out / TS_GENERATED), _tree(TS_DIR / TS_GENERATED)
        for path in sorted(fresh.keys() | committed_ts.keys()):
            where = Path("clients/typescript") / TS_GENERATED / path
            if path not in committed_ts:
                problems.append(f"{where}: not committed")
            elif path not in fresh:
                problems.append(f"{where}: no longer generated")
            elif fresh[path] != committed_ts[path]:
                problems.append(f"{where}: differs from protos/")
        bundle = out / "bundle.js"
        subprocess.run(
            [tools / "esbuild", "src/index.ts", *ESBUILD_ARGS, f"--outfile={bundle}"],
            cwd=TS_DIR,
            check=True,
            capture_output=True,
        )
        if not WEB_BUNDLE.exists() or bundle.read_bytes() != WEB_BUNDLE.read_bytes():
            problems.append(f"{WEB_BUNDLE.relative_to(ROOT)}: differs from clients/typescript")
    return problems, ""


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail on drift instead of writing")
    parser.add_argument(
        "--typescript",
        action="store_true",
        help="also regenerate clients/typescript and the web app's bundle (needs npm ci there)",
    )
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        ts_problems, ts_note = check_typescript()
        problems += ts_problems
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            print("Run `make proto` and commit the result.", file=sys.stderr)
            return 1
        print(f"generated code matches {len(proto_files())} proto files")
        print(ts_note or "TypeScript client and web bundle match", file=sys.stderr)
        return 0
    for path in generate(ROOT):
        print(path)
    if args.typescript:
        import subprocess

        for script in ("generate", "bundle"):
            subprocess.run(["npm", "run", "--silent", script], cwd=TS_DIR, check=True)
        print(TS_DIR.relative_to(ROOT) / TS_GENERATED, WEB_BUNDLE.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
