"""Real files from a learned codec: entropy-code integer codes into bytes and back.

:class:`course_lib.compression.CompressionAutoencoder` gives integer codes and a probability
for each of their values; a *range coder* turns a sequence of symbols with known
probabilities into a bitstream whose length is within a few bits of ``-log2 P`` of the whole
sequence. We use the range coder of the ``constriction`` package (Bamler 2022; maintained,
binary wheels for Linux, macOS and Windows), with one categorical distribution per code
channel built from the entropy model (:meth:`LogisticEntropyModel.pmf_table`).

A model with a context entropy model
(:class:`course_lib.compression.ContextCompressionAutoencoder`) is coded position by position
instead (:class:`ContextCodeCoder`): each position's table depends on the values decoded
before it, so the decoder computes it from those values exactly as the encoder did.

A file is a 5-byte header and the payload::

    0    0xA0 | format       high half 0xA: a file of this codec; low half the format:
                             1 factorised entropy model, 2 context entropy model
    1-2  model tag           16 bits of a CRC-32 of the model's weights, code shape and alphabet:
                             which model wrote it (the code shape is the model's, so it is not
                             written again)
    3-4  checksum            16 bits of a CRC-32 of the payload: corrupted or truncated?
    5-   payload             the range coder's 32-bit words, big-endian, up to where its
                             final interval is known; then the fewest bytes that point into
                             that interval (see :func:`sealed_payload`); the reader pads
                             with zero bytes

Every field the reader can do without is left out: at about 90 bytes per image, each header
byte is about 1 % of the file. Anything that does not match — too short, not this codec,
another format, another model, a payload whose checksum differs — raises
:class:`BitstreamError` with the reason, instead of decoding a wrong image. (A 16-bit
checksum misses one random corruption in 65,536; a file of the earlier 10-byte format, which
started with ``b"AE"``, is named as such.)
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

#: The high half of a file's first byte: one of our files.
MAGIC = 0xA0
#: The low half of the first byte, for files written with a factorised entropy model ...
VERSION = 1
#: ... and with a context entropy model.
CONTEXT_VERSION = 2
FORMATS = {VERSION: "a factorised entropy model", CONTEXT_VERSION: "a context entropy model"}
HEADER_BYTES = 5
#: How the files of the earlier format (a 10-byte header) began.
OLD_MAGIC = b"AE"

__all__ = [
    "HEADER_BYTES",
    "BitstreamError",
    "CodeCoder",
    "ContextCodeCoder",
    "coder_for",
    "compress",
    "decode_from_bytes",
    "decompress",
    "encode_to_bytes",
    "model_tag",
    "sealed_payload",
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
    """A 16-bit tag of the model's weights (CRC-32 of their float32 bytes, low 16 bits).

    The code shape enters the CRC, and for a context entropy model the code radius (the
    coder's alphabet): the header does not write them, and two models that differ only in
    them write different files.
    """
    crc = zlib.crc32(f"code_shape={tuple(int(d) for d in model.code_shape)}".encode())
    for weights in model.get_weights():
        crc = zlib.crc32(np.ascontiguousarray(weights, dtype=np.float32).tobytes(), crc)
    radius = getattr(getattr(model, "entropy_model", None), "code_radius", None)
    if radius is not None:
        crc = zlib.crc32(f"code_radius={int(radius)}".encode(), crc)
    return crc & 0xFFFF


def _name_file(exc: BitstreamError, index: int, name: bool) -> BitstreamError:
    """The same error, prefixed with the file's index in the caller's list when there are several."""
    return BitstreamError(f"file {index}: {exc}") if name else exc


def _checksum(payload: bytes) -> int:
    return zlib.crc32(payload) & 0xFFFF


def sealed_payload(encoder) -> bytes:
    """A ``constriction`` range encoder's output as bytes, ended with as few bytes as it needs.

    After the last symbol the encoder's state is an interval ``[lower, lower + range)`` of
    64-bit numbers (``range >= 2**32``): any number in it, appended to the words already
    written, decodes to the same symbols. ``constriction`` ends the stream with a whole 32-bit
    word (the first multiple of ``2**32`` in the interval, sometimes followed by a zero word).
    We end it with the fewest bytes instead: the first multiple of ``256**(8 - k)`` in the
    interval for the smallest ``k`` (0 to 4 bytes), then drop the stream's trailing zero bytes,
    which the reader restores by padding with zeros. That writes about ``-log2(range) + 1``
    bits rounded up to whole bytes, where a whole word wrote 32: 1.5-2 bytes fewer per file
    on average (tests/test_compression.py measures it). If the encoder's state is not the
    one expected (it would be after a carry into words already written), the word-based ending
    is kept: correct, a few bytes longer.
    """
    position, (lower, span) = encoder.pos()
    words = np.asarray(encoder.get_compressed(), np.uint32)
    ending = [int(word) for word in words[position:]]
    if 1 <= len(ending) <= 2:
        point = (ending[0] << 32) | (ending[1] if len(ending) == 2 else 0)
        if lower <= point < lower + span:  # constriction's own ending, without a carry
            for keep in range(5):
                step = 1 << (8 * (8 - keep))
                value = -(-lower // step) * step  # the first multiple of step at or above lower
                if value < lower + span and value < 1 << 64:
                    written = words[:position].astype(">u4").tobytes()
                    return (written + value.to_bytes(8, "big")[:keep]).rstrip(b"\0")
    payload = words.astype(">u4").tobytes()
    return payload[: max(len(payload) - 3, len(payload.rstrip(b"\0")))]  # only the last word's zero bytes


class _Coder:
    """The header, the checksum and the payload's words, shared by both coders."""

    version = VERSION

    def __init__(self, model) -> None:
        self._constriction = _constriction()
        self.code_shape = tuple(int(d) for d in model.code_shape)
        if len(self.code_shape) != 3:
            raise ValueError(f"expected a code of shape (h, w, c), got {self.code_shape}")
        self.tag = model_tag(model)
        self.low, self.high = (np.asarray(a, np.int64) for a in model.entropy_model.support())

    def _check_codes(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes)
        if codes.shape != self.code_shape:
            raise ValueError(f"encode: expected codes of shape {self.code_shape}, got {codes.shape}")
        if not np.issubdtype(codes.dtype, np.integer):
            raise ValueError("encode: codes must be integers (round and clip them with model.codes)")
        if np.any(codes < self.low) or np.any(codes > self.high):
            raise ValueError("encode: a code lies outside the entropy model's support (use model.codes)")
        return codes.astype(np.int64)

    def _file(self, encoder) -> bytes:
        payload = sealed_payload(encoder)
        header = bytes([MAGIC | self.version]) + self.tag.to_bytes(2, "big")
        return header + _checksum(payload).to_bytes(2, "big") + payload

    def _words(self, data: bytes) -> np.ndarray:
        """The payload's 32-bit words after every header check; :class:`BitstreamError` otherwise."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"decode: expected bytes, got {type(data).__name__}")
        data = bytes(data)
        if data[:2] == OLD_MAGIC:
            raise BitstreamError(
                "a file of this codec's earlier format (10-byte header, starting with b'AE'): this version "
                "reads only the 5-byte header; encode the image again"
            )
        if len(data) < HEADER_BYTES:
            raise BitstreamError(
                f"truncated file: {len(data)} bytes, shorter than the {HEADER_BYTES}-byte header"
            )
        if data[0] & 0xF0 != MAGIC:
            starts = " or ".join(f"{MAGIC | v:#04x}" for v in FORMATS)
            raise BitstreamError(
                f"not a file of this codec: its first byte is {data[0]:#04x}, where this codec's files start with "
                f"{starts}"
            )
        version = data[0] & 0x0F
        if version not in FORMATS:
            raise BitstreamError(f"format version {version}, but this reader knows versions {sorted(FORMATS)}")
        if version != self.version:
            raise BitstreamError(
                f"format version {version} is written with {FORMATS[version]}, but this model has "
                f"{FORMATS[self.version]} (version {self.version}): decode it with the model that wrote it"
            )
        tag = int.from_bytes(data[1:3], "big")
        if tag != self.tag:
            raise BitstreamError(
                f"written by another model (tag {tag:#06x}, this model's is {self.tag:#06x}): "
                "decode it with the model that wrote it"
            )
        payload = data[HEADER_BYTES:]
        if _checksum(payload) != int.from_bytes(data[3:5], "big"):
            raise BitstreamError("corrupted or truncated payload: its checksum does not match the header")
        padded = payload + b"\0" * (-len(payload) % 4)
        return np.frombuffer(padded, dtype=">u4").astype(np.uint32)


class CodeCoder(_Coder):
    """Encodes and decodes the integer codes of a model with a factorised entropy model.

    Channel ``c`` of the code is coded with the categorical distribution
    ``table[c]`` over the integers ``low[c] ... low[c] + K - 1``, all positions of a channel
    one after the other, channel after channel. Tables and tag are built once.
    """

    version = VERSION

    def __init__(self, model) -> None:
        super().__init__(model)
        self.low, table = model.entropy_model.pmf_table()
        self.high = self.low + (table > 0).sum(axis=1) - 1
        categorical = self._constriction.stream.model.Categorical
        self._models = [categorical(row[row > 0].astype(np.float64), perfect=False) for row in table]

    def encode(self, codes: np.ndarray) -> bytes:
        """One image's integer codes, shape ``code_shape``, to the bytes of a file."""
        flat = self._check_codes(codes).reshape(-1, self.code_shape[-1])
        encoder = self._constriction.stream.queue.RangeEncoder()
        for c, model in enumerate(self._models):
            encoder.encode((flat[:, c] - self.low[c]).astype(np.int32), model)
        return self._file(encoder)

    def decode(self, data: bytes) -> np.ndarray:
        """The bytes of a file back to the integer codes (int64, ``code_shape``)."""
        decoder = self._constriction.stream.queue.RangeDecoder(self._words(data))
        positions = int(np.prod(self.code_shape[:-1]))
        flat = np.empty((positions, self.code_shape[-1]), np.int64)
        for c, model in enumerate(self._models):
            flat[:, c] = decoder.decode(model, positions) + self.low[c]
        return flat.reshape(self.code_shape)

    def encode_many(self, codes: np.ndarray) -> list[bytes]:
        """Integer codes ``(N, h, w, c)`` to ``N`` files' bytes."""
        return [self.encode(one) for one in codes]

    def decode_many(self, files: Sequence[bytes], first_index: int = 0) -> np.ndarray:
        """``N`` files' bytes back to integer codes (int64, ``(N, h, w, c)``).

        An error names the file by ``first_index`` + its position in ``files`` (when there are several).
        """
        out = np.empty((len(files), *self.code_shape), np.int64)
        for n, data in enumerate(files):
            try:
                out[n] = self.decode(data)
            except BitstreamError as exc:
                raise _name_file(exc, first_index + n, len(files) > 1 or first_index > 0) from None
        return out


class ContextCodeCoder(_Coder):
    """Encodes and decodes the codes of a model with a context entropy model, position by position.

    Position ``(i, j)``'s ``c`` values are written with one categorical table each over the
    fixed alphabet ``-R ... R`` (``R = code_radius``), built from the logistic of
    :meth:`ContextEntropyModel.coder_parameters` at that position. The encoder computes each
    position's parameters from the code's values at the earlier positions, the decoder from the
    values it has decoded so far. The network runs in exact fixed-point arithmetic
    (:meth:`ContextEntropyModel.coder_weights`), so both get the same locations and log-scales
    bit for bit whichever files they batch together; the scales and tables are elementwise
    float functions of them, identical on one machine and NumPy build. (Across processors whose
    ``exp`` or ``tanh`` round differently, a table could differ in its last bit and a file
    fail to decode; codecs meant for exchange precompute integer tables for a grid of scales.)
    Many files are coded in lockstep (:meth:`encode_many`, :meth:`decode_many`): ``h * w``
    steps for the whole batch instead of per file.
    """

    version = CONTEXT_VERSION

    def __init__(self, model) -> None:
        super().__init__(model)
        self.entropy_model = model.entropy_model
        self.weights = self.entropy_model.coder_weights()
        self.radius = int(self.entropy_model.code_radius)
        #: the edges of the bins of the alphabet -R ... R: -inf, -R + 1/2, ..., R - 1/2, +inf (the end bins
        #: take the tails, as clipping does: a table never sums to 0, wherever the logistic lies)
        self._edges = np.arange(-self.radius, self.radius + 2, dtype=np.float64) - 0.5
        self._edges[0], self._edges[-1] = -np.inf, np.inf
        self._categorical = self._constriction.stream.model.Categorical(perfect=False)

    def _tables(self, grid: np.ndarray, i: int, j: int) -> np.ndarray:
        """``(N, c, 2R + 1)`` tables of position ``(i, j)`` from the values before it in ``grid`` (N, h, w, c).

        Each row is the logistic's CDF at the bin edges, differenced: the unit-bin masses (as in
        :func:`course_lib.compression.logistic_likelihood`, but without its floor and computed
        from the CDF directly, which loses precision only far in the tails), the two end bins
        with the tails beyond them. constriction
        renormalises each row to integer frequencies and gives every value at least its smallest
        probability, so a value in a far tail can still be written.
        """
        context = self.entropy_model.context_at(grid, i, j)
        loc, scale = self.entropy_model.coder_parameters(self.weights, context, self.weights["position_bias"][i, j])
        cdf = 0.5 + 0.5 * np.tanh(0.5 * (self._edges - loc[..., None]) / scale[..., None])
        return np.diff(cdf, axis=-1)

    def encode_many(self, codes: np.ndarray) -> list[bytes]:
        """Integer codes ``(N, h, w, c)`` to ``N`` files' bytes."""
        if len(codes) == 0:
            return []
        codes = np.stack([self._check_codes(one) for one in codes])
        encoders = [self._constriction.stream.queue.RangeEncoder() for _ in codes]
        h, w, _ = self.code_shape
        for i in range(h):
            for j in range(w):
                tables = self._tables(codes, i, j)
                symbols = (codes[:, i, j] + self.radius).astype(np.int32)
                for n, encoder in enumerate(encoders):
                    encoder.encode(symbols[n], self._categorical, tables[n])
        return [self._file(encoder) for encoder in encoders]

    def decode_many(self, files: Sequence[bytes], first_index: int = 0) -> np.ndarray:
        """``N`` files' bytes back to integer codes (int64, ``(N, h, w, c)``).

        An error names the file by ``first_index`` + its position in ``files`` (when there are several).
        """
        decoders = []
        for n, data in enumerate(files):
            try:
                decoders.append(self._constriction.stream.queue.RangeDecoder(self._words(data)))
            except BitstreamError as exc:
                raise _name_file(exc, first_index + n, len(files) > 1 or first_index > 0) from None
        grid = np.zeros((len(files), *self.code_shape), np.int64)
        if len(files) == 0:
            return grid
        h, w, _ = self.code_shape
        for i in range(h):
            for j in range(w):
                tables = self._tables(grid, i, j)
                for n, decoder in enumerate(decoders):
                    grid[n, i, j] = decoder.decode(self._categorical, tables[n]) - self.radius
        return grid

    def encode(self, codes: np.ndarray) -> bytes:
        """One image's integer codes, shape ``code_shape``, to the bytes of a file."""
        return self.encode_many(self._check_codes(codes)[None])[0]

    def decode(self, data: bytes) -> np.ndarray:
        """The bytes of a file back to the integer codes (int64, ``code_shape``)."""
        return self.decode_many([data])[0]


def coder_for(model) -> _Coder:
    """The coder of ``model``: :class:`ContextCodeCoder` for a context entropy model, else :class:`CodeCoder`."""
    from .compression import ContextEntropyModel

    return ContextCodeCoder(model) if isinstance(model.entropy_model, ContextEntropyModel) else CodeCoder(model)


def encode_to_bytes(model, codes: np.ndarray) -> bytes:
    """One image's integer codes (from ``model.codes``) to a file's bytes (header + payload)."""
    return coder_for(model).encode(codes)


def decode_from_bytes(model, data: bytes) -> np.ndarray:
    """A file's bytes back to integer codes; :class:`BitstreamError` if they do not fit."""
    return coder_for(model).decode(data)


def compress(model, images: np.ndarray, batch_size: int = 1024) -> list[bytes]:
    """Every image to its own file's bytes (codes from ``model.codes``)."""
    coder = coder_for(model)
    codes = model.codes(images, batch_size)
    return [data for start in range(0, len(codes), batch_size)
            for data in coder.encode_many(codes[start : start + batch_size])]


def decompress(model, files: Sequence[bytes], batch_size: int = 1024) -> np.ndarray:
    """Files back to images: decode every file's codes, then run the synthesis transform."""
    if len(files) == 0:
        raise ValueError("decompress: no files given")
    coder = coder_for(model)
    codes = np.concatenate([coder.decode_many(files[start : start + batch_size], first_index=start)
                            for start in range(0, len(files), batch_size)])
    return model.decode_codes(codes, batch_size)

