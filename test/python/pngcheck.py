"""Reads a PNG as a decoder would: signature, every chunk's CRC, IHDR first,
IEND last, and image data that inflates to exactly the rows IHDR promises."""
import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# bytes per pixel at 8 bits per sample, by colour type (PNG spec, 11.2.2)
BYTES_PER_PIXEL = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def png_size(path):
    """(width, height) of the PNG at path; AssertionError when it is not valid."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == SIGNATURE, "%s: not a PNG (signature %r)" % (path, data[:8])
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert len(body) == length and zlib.crc32(kind + body) == crc, \
            "%s: chunk %r at %d is truncated or fails its CRC" % (path, kind, pos)
        chunks.append(kind)
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND", chunks
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    assert depth == 8 and interlace == 0, (depth, interlace)
    rows = zlib.decompress(idat)
    assert len(rows) == height * (1 + width * BYTES_PER_PIXEL[colour]), \
        "%s: image data of %d bytes for %dx%d" % (path, len(rows), width, height)
    return width, height
