"""A corpus file's bytes to text lines: size limits, gzip, encodings, and the errors that name the file.

Everything here is about the file, not the sentences in it: `corpus` turns the lines into pairs.
"""
from __future__ import annotations

import gzip
import io
import os
import stat
import zipfile
import zlib

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"

# Formats people upload by mistake, recognised by their first bytes, with what to do instead.
_NOT_TEXT = {
    b"PK\x03\x04": "a zip archive",
    b"BZh": "bzip2-compressed; decompress it (bunzip2) or gzip it instead",
    b"\xfd7zXZ\x00": "xz-compressed; decompress it (unxz) or gzip it instead",
    b"\x28\xb5\x2f\xfd": "zstd-compressed; decompress it (unzstd) or gzip it instead",
    b"\xff\xfe": "UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8",
    b"\xfe\xff": "UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8",
}


class CorpusError(ValueError):
    """A corpus that cannot be loaded: `file`, `line` (1-based, or None) and the `reason`."""

    def __init__(self, file: str, reason: str, line: int | None = None):
        self.file, self.reason, self.line = str(file), reason, line
        where = self.file if line is None else f"{self.file}, line {line}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):  # keep the fields when a job runner sends the error across processes
        return (type(self), (self.file, self.reason, self.line))


# ---------------------------------------------------------------------------------------- raw bytes

def as_bytes(data, name: str) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        hint = "; pass text.encode('utf-8') or use a path loader" if isinstance(data, str) else ""
        raise TypeError(f"{name}: expected the file's bytes, got {type(data).__name__}{hint}")
    return bytes(data)


def read_file(path: str, max_bytes: int) -> bytes:
    """The file's bytes, refusing missing, non-regular and oversized files before reading them."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CorpusError(path, f"file not found (looked for {os.path.abspath(path)})") from None
    except OSError as err:
        raise CorpusError(path, f"cannot open: {err.strerror or err}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise CorpusError(path, f"is {kind}; expected a text file (TSV, or one sentence per line)")
    if info.st_size > max_bytes:
        raise CorpusError(path, too_big(f"is {info.st_size:,} bytes", max_bytes))
    try:
        with open(path, "rb") as handle:
            return handle.read(max_bytes + 1)  # one byte over lets _unpack see a file that grew
    except OSError as err:
        raise CorpusError(path, f"cannot read: {err.strerror or err}") from None


def too_big(what: str, max_bytes: int) -> str:
    return (f"{what}, over the limit of {max_bytes:,} bytes (CorpusOptions.max_bytes); "
            "cut the file down or raise max_bytes")


def unpack(raw: bytes, name: str, max_bytes: int) -> tuple[bytes, int]:
    """Decompressed text bytes without a UTF-8 BOM, and where they start (3 after a BOM, else 0).

    Refuses empty, oversized, corrupt-gzip and recognisably non-text input.
    """
    if not raw:
        raise CorpusError(name, "empty file (0 bytes); expected one pair or sentence per line")
    if len(raw) > max_bytes:
        raise CorpusError(name, too_big(f"is {len(raw):,} bytes", max_bytes))
    data = raw
    if raw.startswith(GZIP_MAGIC):  # by content, not name: uploads often lose or fake their suffix
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unzipped:
                data = unzipped.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as err:
            raise CorpusError(name, f"corrupt gzip data ({err}); re-download the file, or gunzip it to see "
                                    "where it breaks") from None
        if not data:
            raise CorpusError(name, "empty after gzip decompression; expected one pair or sentence per line")
        if len(data) > max_bytes:
            raise CorpusError(name, too_big(f"decompresses to over {max_bytes:,} bytes", max_bytes))
    for magic, what in _NOT_TEXT.items():
        if data.startswith(magic):
            if magic == b"PK\x03\x04":
                what += _zip_members(data)
            raise CorpusError(name, f"is {what}, not a plain or gzip text file")
    start = 0
    if data.startswith(UTF8_BOM):
        data, start = data[len(UTF8_BOM):], len(UTF8_BOM)
        if not data:
            raise CorpusError(name, "holds only a UTF-8 byte-order mark, no text")
    if b"\n" not in data and b"\r" in data:  # classic Mac line ends: one "line" would be the whole file
        data = data.replace(b"\r", b"\n")
    return data, start


def _zip_members(data: bytes) -> str:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "; unzip it and load the text file inside"
    return f" (holding {', '.join(names[:5])}); unzip it and load the text file inside"


# -------------------------------------------------------------------------------------------- lines

def decode_lines(data: bytes, start: int = 0) -> tuple[list[str], dict[int, tuple[str, str]]]:
    """Text lines without CR, and {line number: (skip reason, detail)} for lines that are not text.

    Decoding the whole file at once is the fast path; only a file that is not valid UTF-8 is decoded
    line by line, so that one bad line costs that line alone and its error can give the byte offset.
    `start` is where `data` begins in the file (after a BOM), so offsets match a hex editor.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _decode_line_by_line(data, start)
    lines = text.split("\n")
    if lines[-1] == "":  # the newline that ends the last line does not start another
        lines.pop()
    bad: dict[int, tuple[str, str]] = {}
    if "\x00" in text:
        for index, line in enumerate(lines):
            if "\x00" in line:
                bad[index + 1] = _nul_problem(line.index("\x00"))
                lines[index] = ""
    return [line[:-1] if line.endswith("\r") else line for line in lines], bad


def _decode_line_by_line(data: bytes, start: int) -> tuple[list[str], dict[int, tuple[str, str]]]:
    chunks = data.split(b"\n")  # safe on UTF-8 bytes: 0x0A never occurs inside a multi-byte character
    if chunks[-1] == b"":
        chunks.pop()
    lines: list[str] = []
    bad: dict[int, tuple[str, str]] = {}
    offset = start
    for number, chunk in enumerate(chunks, 1):
        line = ""
        if b"\x00" in chunk:
            bad[number] = _nul_problem(chunk.index(b"\x00"))
        else:
            try:
                line = chunk.decode("utf-8")
            except UnicodeDecodeError as err:
                bad[number] = ("not UTF-8", f"not valid UTF-8: byte 0x{chunk[err.start]:02X} at byte offset "
                                            f"{offset + err.start} (byte {err.start + 1} of the line); "
                                            "the file may be Latin-1 or Windows-1252 -- re-save it as UTF-8")
        lines.append(line[:-1] if line.endswith("\r") else line)
        offset += len(chunk) + 1
    return lines, bad


def _nul_problem(index: int) -> tuple[str, str]:
    return "NUL byte", f"NUL byte at position {index + 1} of the line (binary data, not text)"
