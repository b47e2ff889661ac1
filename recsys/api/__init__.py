"""The versioned gRPC API: generated code under ``recsys.api.v1`` (see ``protos/``)."""

__all__: list[str] = []
