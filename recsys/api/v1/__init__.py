"""Liner Notes API v1: generated protobuf messages and gRPC stubs (``*_pb2``, ``*_pb2_grpc``).

Only the service layer (``recsys.service``) and clients import these modules.
"""

__all__: list[str] = []
