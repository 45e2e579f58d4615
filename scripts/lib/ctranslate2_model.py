"""A reader for CTranslate2's model.bin, with numpy and struct only (no ctranslate2 import).
Imported by convert-ctranslate2-whisper.py.

The layout is the one ctranslate2/specs/model_spec.py (`ModelSpec._serialize`) writes, binary
version 6, all little-endian:

    u32 binary_version
    string spec_name, u32 spec_revision
    u32 variable_count, then per variable:
        string name, u8 rank, u32 dims[rank], u8 dtype_id, u32 byte_count, bytes[byte_count]
    u32 alias_count, then per alias: string alias, string target

A string is a u16 length that counts a trailing NUL, the UTF-8 bytes, and the NUL. Scalars (rank 0)
hold layer attributes such as `encoder/num_heads`; `X_scale` variables hold int8/int16 quantization
scales of `X`. An alias names a variable stored once under another name (tied weights).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUPPORTED_BINARY_VERSION = 6

# Index = dtype id (model_spec.py `_dtype_to_type_id`); bfloat16 is read as its raw uint16 bits.
DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
NUMPY_DTYPES = {
    "float32": np.dtype("<f4"),
    "int8": np.dtype("i1"),
    "int16": np.dtype("<i2"),
    "int32": np.dtype("<i4"),
    "float16": np.dtype("<f2"),
    "bfloat16": np.dtype("<u2"),
}


class ModelBinError(Exception):
    pass


@dataclass
class Variable:
    name: str
    dtype: str  # one of DTYPES
    array: np.ndarray  # bfloat16 as uint16 bits

    def is_scalar(self) -> bool:
        return self.array.ndim == 0

    def scalar(self) -> int | float:
        if not self.is_scalar():
            raise ModelBinError(f"{self.name}: expected a scalar attribute, found shape {list(self.array.shape)}")
        return self.array.item()


@dataclass
class CTranslate2Model:
    spec_name: str
    spec_revision: int
    variables: dict[str, Variable]
    aliases: dict[str, str]  # alias -> stored variable name


class _Cursor:
    def __init__(self, data: bytes, path: Path):
        self.data, self.path, self.offset = data, path, 0

    def unpack(self, fmt: str, what: str) -> int:
        size = struct.calcsize("<" + fmt)
        if self.offset + size > len(self.data):
            raise ModelBinError(f"{self.path}: file ends at byte {len(self.data)} while reading {what}")
        (value,) = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += size
        return value

    def string(self, what: str) -> str:
        length = self.unpack("H", f"the length of {what}")
        raw = self.take(length, what)
        if length == 0 or raw[-1] != 0:
            raise ModelBinError(f"{self.path}: {what} at byte {self.offset - length} is not NUL-terminated")
        return raw[:-1].decode("utf-8")

    def take(self, count: int, what: str) -> bytes:
        if self.offset + count > len(self.data):
            raise ModelBinError(f"{self.path}: file ends at byte {len(self.data)} inside {what}")
        raw = self.data[self.offset : self.offset + count]
        self.offset += count
        return raw


def read_model_bin(path: Path) -> CTranslate2Model:
    cursor = _Cursor(path.read_bytes(), path)
    version = cursor.unpack("I", "the binary version")
    if version != SUPPORTED_BINARY_VERSION:
        raise ModelBinError(
            f"{path}: binary version {version}; this reader knows version {SUPPORTED_BINARY_VERSION} "
            "(written by ctranslate2 4.x). Re-convert the model with a recent ctranslate2."
        )
    spec_name = cursor.string("the spec name")
    spec_revision = cursor.unpack("I", "the spec revision")

    variables: dict[str, Variable] = {}
    for index in range(cursor.unpack("I", "the variable count")):
        name = cursor.string(f"the name of variable {index}")
        rank = cursor.unpack("B", f"{name}: rank")
        shape = tuple(cursor.unpack("I", f"{name}: dimension {axis}") for axis in range(rank))
        dtype_id = cursor.unpack("B", f"{name}: dtype")
        if dtype_id >= len(DTYPES):
            raise ModelBinError(f"{path}: {name}: unknown dtype id {dtype_id}")
        dtype = DTYPES[dtype_id]
        byte_count = cursor.unpack("I", f"{name}: byte count")
        expected = int(np.prod(shape, dtype=np.int64)) * NUMPY_DTYPES[dtype].itemsize
        if byte_count != expected:
            raise ModelBinError(f"{path}: {name}: {byte_count} bytes for {dtype} {list(shape)} (expected {expected})")
        raw = cursor.take(byte_count, name)
        array = np.frombuffer(raw, dtype=NUMPY_DTYPES[dtype]).reshape(shape)
        if name in variables:
            raise ModelBinError(f"{path}: variable {name} appears twice")
        variables[name] = Variable(name, dtype, array)

    aliases: dict[str, str] = {}
    for index in range(cursor.unpack("I", "the alias count")):
        alias = cursor.string(f"alias {index}")
        target = cursor.string(f"the target of alias {alias}")
        if target not in variables:
            raise ModelBinError(f"{path}: alias {alias} points to {target}, which is not stored")
        aliases[alias] = target

    if cursor.offset != len(cursor.data):
        raise ModelBinError(f"{path}: {len(cursor.data) - cursor.offset} unread bytes after the aliases")
    return CTranslate2Model(spec_name, spec_revision, variables, aliases)
