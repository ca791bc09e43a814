"""Real files from a learned codec: entropy-code integer codes into bytes and back.

:class:`course_lib.compression.CompressionAutoencoder` gives integer codes and a probability
for each of their values; a *range coder* turns a sequence of symbols with known
probabilities into a bitstream whose length is within a few bits of ``-log2 P`` of the whole
sequence. We use the range coder of the ``constriction`` package (Bamler 2022; maintained,
binary wheels for Linux, macOS and Windows), with one categorical distribution per code
channel built from the entropy model (:meth:`LogisticEntropyModel.pmf_table`).

A file is a 10-byte header and the payload::

    0-1  magic b"AE"             not one of our files otherwise
    2    format version (1)
    3-4  model tag               16 bits of a CRC-32 of the model's weights: which model wrote it
    5-7  code shape (h, w, c)
    8-9  checksum                16 bits of a CRC-32 of the payload: corrupted or truncated?
    10-  payload                 the range coder's 32-bit words, big-endian, trailing zero
                                 bytes of the last word dropped (restored when reading)

Anything that does not match — too short, another format, another version, another model,
another code shape, a payload whose checksum differs — raises :class:`BitstreamError` with
the reason, instead of decoding a wrong image. (A 16-bit checksum misses one random
corruption in 65,536.)
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

MAGIC = b"AE"
VERSION = 1
HEADER_BYTES = 10

__all__ = [
    "HEADER_BYTES",
    "BitstreamError",
    "CodeCoder",
    "compress",
    "decode_from_bytes",
    "decompress",
    "encode_to_bytes",
    "model_tag",
]


class BitstreamError(ValueError):
    """Bytes that cannot be decoded by this model: the message says why."""


def _constriction():
    try:
        import constriction
    except ImportError as exc:  # pragma: no cover - a dependency of the course
        raise ImportError(
            "writing real bitstreams needs the 'constriction' package: pip install constriction"
        ) from exc
    return constriction


def model_tag(model) -> int:
    """A 16-bit tag of the model's weights (CRC-32 of their float32 bytes, low 16 bits)."""
    crc = 0
    for weights in model.get_weights():
        crc = zlib.crc32(np.ascontiguousarray(weights, dtype=np.float32).tobytes(), crc)
    return crc & 0xFFFF


def _checksum(payload: bytes) -> int:
    return zlib.crc32(payload) & 0xFFFF


class CodeCoder:
    """Encodes and decodes the integer codes of one model (tables and tag built once).

    Channel ``c`` of the code is coded with the categorical distribution
    ``table[c]`` over the integers ``low[c] ... low[c] + K - 1``, all positions of a channel
    one after the other, channel after channel.
    """

    def __init__(self, model) -> None:
        constriction = _constriction()
        self.code_shape = tuple(int(d) for d in model.code_shape)
        if len(self.code_shape) != 3 or max(self.code_shape) > 255:
            raise ValueError(f"code shape {self.code_shape} does not fit the header (3 sizes < 256)")
        self.tag = model_tag(model)
        self.low, table = model.entropy_model.pmf_table()
        self.high = self.low + (table > 0).sum(axis=1) - 1
        self._models = [
            constriction.stream.model.Categorical(row[row > 0].astype(np.float64), perfect=False)
            for row in table
        ]
        self._queue = constriction.stream.queue

    # ------------------------------------------------------------------ writing
    def encode(self, codes: np.ndarray) -> bytes:
        """One image's integer codes, shape ``code_shape``, to the bytes of a file."""
        codes = np.asarray(codes)
        if codes.shape != self.code_shape:
            raise ValueError(f"encode: expected codes of shape {self.code_shape}, got {codes.shape}")
        if not np.issubdtype(codes.dtype, np.integer):
            raise ValueError("encode: codes must be integers (round and clip them with model.codes)")
        flat = codes.reshape(-1, self.code_shape[-1])
        if np.any(flat < self.low) or np.any(flat > self.high):
            raise ValueError("encode: a code lies outside the entropy model's support (use model.codes)")
        encoder = self._queue.RangeEncoder()
        for c, model in enumerate(self._models):
            encoder.encode((flat[:, c] - self.low[c]).astype(np.int32), model)
        payload = encoder.get_compressed().astype(">u4").tobytes()
        keep = max(len(payload) - 3, len(payload.rstrip(b"\0")))  # only the last word's zero bytes
        payload = payload[:keep]
        header = MAGIC + bytes([VERSION]) + self.tag.to_bytes(2, "big") + bytes(self.code_shape)
        return header + _checksum(payload).to_bytes(2, "big") + payload

    # ------------------------------------------------------------------ reading
    def decode(self, data: bytes) -> np.ndarray:
        """The bytes of a file back to the integer codes (int64, ``code_shape``)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"decode: expected bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < HEADER_BYTES:
            raise BitstreamError(
                f"truncated file: {len(data)} bytes, shorter than the {HEADER_BYTES}-byte header"
            )
        if data[:2] != MAGIC:
            raise BitstreamError(f"not a file of this codec: it starts with {data[:2]!r}, not {MAGIC!r}")
        if data[2] != VERSION:
            raise BitstreamError(f"format version {data[2]}, but this reader knows version {VERSION}")
        tag = int.from_bytes(data[3:5], "big")
        if tag != self.tag:
            raise BitstreamError(
                f"written by another model (tag {tag:#06x}, this model's is {self.tag:#06x}): "
                "decode it with the model that wrote it"
            )
        shape = tuple(data[5:8])
        if shape != self.code_shape:
            raise BitstreamError(f"code shape {shape} in the header, but this model's is {self.code_shape}")
        payload = data[HEADER_BYTES:]
        if _checksum(payload) != int.from_bytes(data[8:10], "big"):
            raise BitstreamError("corrupted or truncated payload: its checksum does not match the header")
        padded = payload + b"\0" * (-len(payload) % 4)
        words = np.frombuffer(padded, dtype=">u4").astype(np.uint32)
        decoder = self._queue.RangeDecoder(words)
        positions = int(np.prod(self.code_shape[:-1]))
        flat = np.empty((positions, self.code_shape[-1]), np.int64)
        for c, model in enumerate(self._models):
            flat[:, c] = decoder.decode(model, positions) + self.low[c]
        return flat.reshape(self.code_shape)


def encode_to_bytes(model, codes: np.ndarray) -> bytes:
    """One image's integer codes (from ``model.codes``) to a file's bytes (header + payload)."""
    return CodeCoder(model).encode(codes)


def decode_from_bytes(model, data: bytes) -> np.ndarray:
    """A file's bytes back to integer codes; :class:`BitstreamError` if they do not fit."""
    return CodeCoder(model).decode(data)


def compress(model, images: np.ndarray, batch_size: int = 1024) -> list[bytes]:
    """Every image to its own file's bytes (codes from ``model.codes``)."""
    coder = CodeCoder(model)
    return [coder.encode(codes) for codes in model.codes(images, batch_size)]


def decompress(model, files: Sequence[bytes], batch_size: int = 1024) -> np.ndarray:
    """Files back to images: decode every file's codes, then run the synthesis transform."""
    if len(files) == 0:
        raise ValueError("decompress: no files given")
    coder = CodeCoder(model)
    codes = np.stack([coder.decode(data) for data in files])
    return model.decode_codes(codes, batch_size)

