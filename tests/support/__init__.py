"""Helpers shared by test layers."""

from tests.support.dynamo import Call, CallRecorder, create_table, seed_image

__all__ = ["Call", "CallRecorder", "create_table", "seed_image"]
