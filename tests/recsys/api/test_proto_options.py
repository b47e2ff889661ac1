"""Every proto file carries the options other languages' generators need (issue 20.5)."""

from __future__ import annotations

import importlib

import pytest

from recsys.api.generate import proto_files

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
