"""Every proto file carries the options other languages' generators need (issue 20.5)."""

from __future__ import annotations

import importlib
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from recsys.api.generate import PROTO_ROOT, proto_files

OPTIONS = (
    "go_package",
    "java_package",
    "java_multiple_files",
    "java_outer_classname",
    "objc_class_prefix",
    "swift_prefix",
    "csharp_namespace",
)


@pytest.mark.parametrize("proto", [p.stem for p in proto_files()])
def test_every_proto_file_sets_the_code_generation_options(proto: str) -> None:
    module = importlib.import_module(f"recsys.api.v1.{proto}_pb2")
    options = module.DESCRIPTOR.GetOptions()
    missing = [name for name in OPTIONS if not options.HasField(name)]
    assert not missing, f"{proto}.proto lacks {missing}"
    assert options.java_multiple_files
    assert options.go_package.endswith(";linernotesv1")


@pytest.mark.skipif(shutil.which("protoc") is None, reason="no system protoc (protobuf-compiler)")
def test_java_csharp_objc_and_kotlin_generate_from_the_protos(tmp_path: Path) -> None:
    well_known = resources.files("grpc_tools") / "_proto"
    outs = {lang: tmp_path / lang for lang in ("java", "csharp", "objc", "kotlin")}
    for out in outs.values():
        out.mkdir()
    subprocess.run(
        ["protoc", f"-I{PROTO_ROOT}", f"-I{well_known}",
         *(f"--{lang}_out={out}" for lang, out in outs.items()),
         *(str(PROTO_ROOT / p) for p in proto_files())],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    java = outs["java"] / "com" / "linernotes" / "api" / "v1"
    assert (java / "RecommendRequest.java").exists()  # java_multiple_files
    assert "namespace Linernotes.V1" in (outs["csharp"] / "Recommendation.cs").read_text()
    header = next(outs["objc"].rglob("Recommendation.pbobjc.h")).read_text()
    assert "LXXRecommendRequest" in header
