"""QuickXorHash for the local OneDrive server (tests/fakes/onedrive_server.py), as
published at https://learn.microsoft.com/en-us/onedrive/developer/code-snippets/quickxorhash."""

import base64


class QuickXor:
    """Incremental QuickXorHash: bytes 160 apart share a shift, so the input is
    folded into 160 byte lanes (one big-int XOR per block) and placed at the end."""

    def __init__(self):
        self.lanes = 0  # 160 bytes, lane j = position j mod 160
        self.length = 0

    def update(self, data):
        data = bytes(data)
        pos = self.length % 160
        self.length += len(data)
        if pos:
            head = data[:160 - pos]
            self.lanes ^= int.from_bytes(head, "little") << (8 * pos)
            data = data[len(head):]
        whole = len(data) - len(data) % 160
        if whole:
            x = int.from_bytes(data[:whole], "little")
            nbytes = whole
            while nbytes > 160:
                half = (nbytes // 160 // 2) * 160
                if half == 0:
                    half = 160
                x = (x & ((1 << (8 * half)) - 1)) ^ (x >> (8 * half))
                nbytes = max(half, nbytes - half)
            self.lanes ^= x
        tail = data[whole:]
        if tail:
            self.lanes ^= int.from_bytes(tail, "little")
        self.lanes &= (1 << 1280) - 1

    def digest(self):
        cells = 0
        lanes = self.lanes
        for j in range(160):
            b = (lanes >> (8 * j)) & 0xFF
            if b:
                shift = (j * 11) % 160
                v = b << shift
                cells ^= (v & ((1 << 160) - 1)) | (v >> 160)
        out = bytearray(cells.to_bytes(20, "little"))
        for i, b in enumerate(self.length.to_bytes(8, "little")):
            out[12 + i] ^= b
        return bytes(out)

    def b64(self):
        return base64.b64encode(self.digest()).decode()


