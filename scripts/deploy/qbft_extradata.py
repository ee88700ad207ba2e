#!/usr/bin/env python3
"""Besu QBFT genesis extraData, without Besu: RLP-encodes and decodes it, and writes a
genesis file from a `besu operator generate-blockchain-config` input file.

QBFT's extraData (Besu's QbftExtraDataCodec) is the RLP list

    [32-byte vanity, [validator addresses], vote, round, [commit seals]]

and in a genesis block the vanity is 32 zero bytes, the vote the empty list, the round
the integer 0 (the empty string in RLP) and the seals the empty list. A validator's
address is the last 20 bytes of the keccak-256 of its 64-byte node public key.

Usage:
  qbft_extradata.py encode ADDRESS...            prints the extraData for these validators
  qbft_extradata.py decode EXTRADATA             prints the decoded fields as JSON
  qbft_extradata.py address PUBLIC_KEY           prints a node public key's address
  qbft_extradata.py genesis CONFIG_JSON [OUT]    writes the genesis file for CONFIG_JSON
                                                 (its "genesis", with the extraData of its
                                                 blockchain.nodes.keys) to OUT or stdout

Python 3 standard library only.
"""

import json
import sys

# --- keccak-256 (the pre-standard padding Ethereum uses; hashlib's sha3_256 differs) ---

_ROTATIONS = [
    [0, 36, 3, 41, 18],
    [1, 44, 10, 45, 2],
    [62, 6, 43, 15, 61],
    [28, 55, 25, 21, 56],
    [27, 20, 39, 8, 14],
]
_MASK = (1 << 64) - 1


def _round_constants():
    constants, lfsr = [], 1
    for _ in range(24):
        rc = 0
        for j in range(7):
            lfsr = ((lfsr << 1) ^ ((lfsr >> 7) * 0x71)) % 256
            if lfsr & 2:
                rc ^= 1 << ((1 << j) - 1)
        constants.append(rc)
    return constants


_ROUND_CONSTANTS = _round_constants()


def _rol(lane, n):
    return ((lane << n) | (lane >> (64 - n))) & _MASK if n else lane


def _keccak_f(a):
    for rc in _ROUND_CONSTANTS:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rol(a[x][y], _ROTATIONS[x][y])
        a = [[b[x][y] ^ (~b[(x + 1) % 5][y] & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
        a[0][0] ^= rc
    return a


def keccak256(data: bytes) -> bytes:
    rate = 136
    padded = bytearray(data) + b"\x01" + bytes((-len(data) - 1) % rate)
    padded[-1] |= 0x80
    state = [[0] * 5 for _ in range(5)]
    for start in range(0, len(padded), rate):
        block = padded[start:start + rate]
        for i in range(rate // 8):
            state[i % 5][i // 5] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        state = _keccak_f(state)
    return b"".join(state[i % 5][i // 5].to_bytes(8, "little") for i in range(4))


# --- RLP ---

def rlp_encode(item) -> bytes:
    if isinstance(item, (bytes, bytearray)):
        if len(item) == 1 and item[0] < 0x80:
            return bytes(item)
        return _rlp_length(len(item), 0x80) + bytes(item)
    if isinstance(item, list):
        body = b"".join(rlp_encode(x) for x in item)
        return _rlp_length(len(body), 0xC0) + body
    raise TypeError(f"cannot RLP-encode {type(item).__name__}")


def _rlp_length(length, offset):
    if length < 56:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size


def rlp_decode(data: bytes):
    item, end = _rlp_item(data, 0)
    if end != len(data):
        raise ValueError(f"{len(data) - end} bytes after the RLP item")
    return item


def _rlp_item(data, pos):
    if pos >= len(data):
        raise ValueError("RLP ends early")
    first = data[pos]
    if first < 0x80:
        return data[pos:pos + 1], pos + 1
    if first < 0xC0:
        start, length = _rlp_header(data, pos, first - 0x80)
        if length == 1 and data[start] < 0x80:
            raise ValueError("non-canonical RLP: a single small byte with a length prefix")
        return data[start:start + length], start + length
    start, length = _rlp_header(data, pos, first - 0xC0)
    items, cursor, end = [], start, start + length
    while cursor < end:
        item, cursor = _rlp_item(data, cursor)
        items.append(item)
    if cursor != end:
        raise ValueError("an RLP list's items overrun its length")
    return items, end


def _rlp_header(data, pos, short):
    if short <= 55:
        start, length = pos + 1, short
    else:
        size = short - 55
        start = pos + 1 + size
        length = int.from_bytes(data[pos + 1:start], "big")
        if length < 56 or data[pos + 1] == 0:
            raise ValueError("non-canonical RLP length")
    if start + length > len(data):
        raise ValueError("RLP item longer than the data")
    return start, length


# --- QBFT extraData ---

def _hex_bytes(text: str, size=None, what="value") -> bytes:
    raw = text[2:] if text.lower().startswith("0x") else text
    try:
        value = bytes.fromhex(raw)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not hex") from None
    if size is not None and len(value) != size:
        raise ValueError(f"{what} {text!r} has {len(value)} bytes, not {size}")
    return value


def address_of_public_key(public_key: str) -> str:
    key = _hex_bytes(public_key, what="public key")
    if len(key) == 65 and key[0] == 4:
        key = key[1:]
    if len(key) != 64:
        raise ValueError(f"public key {public_key!r} is not 64 bytes (uncompressed, without 04)")
    return "0x" + keccak256(key)[12:].hex()


def encode_extradata(addresses) -> str:
    validators = [_hex_bytes(a, 20, "validator address") for a in addresses]
    if len(set(validators)) != len(validators):
        raise ValueError("a validator is listed twice")
    # vanity, validators, no vote, round 0 (an integer: the empty string), no seals
    return "0x" + rlp_encode([bytes(32), validators, [], b"", []]).hex()


def decode_extradata(extradata: str) -> dict:
    fields = rlp_decode(_hex_bytes(extradata, what="extraData"))
    if not isinstance(fields, list) or len(fields) != 5:
        raise ValueError("QBFT extraData is a list of 5 items (vanity, validators, vote, round, seals)")
    vanity, validators, vote, round_number, seals = fields
    if not isinstance(vanity, bytes) or len(vanity) != 32:
        raise ValueError("the vanity is not 32 bytes")
    if not isinstance(validators, list) or any(not isinstance(v, bytes) or len(v) != 20 for v in validators):
        raise ValueError("the validators are not a list of 20-byte addresses")
    if not isinstance(round_number, bytes) or round_number[:1] == b"\x00":
        raise ValueError("the round is not an RLP integer")
    if not isinstance(vote, list) or not isinstance(seals, list):
        raise ValueError("the vote and the seals must be lists")
    return {
        "vanity": "0x" + vanity.hex(),
        "validators": ["0x" + v.hex() for v in validators],
        "vote": None if not vote else ["0x" + x.hex() for x in vote],
        "round": int.from_bytes(round_number, "big"),
        "seals": ["0x" + s.hex() for s in seals],
    }


def genesis_from_config(config: dict) -> dict:
    """What `besu operator generate-blockchain-config` writes for a config whose
    blockchain.nodes lists the validators' public keys ("generate": false)."""
    nodes = config.get("blockchain", {}).get("nodes", {})
    if nodes.get("generate", False):
        raise ValueError('blockchain.nodes.generate is true: Besu makes the keys; list "keys" instead')
    keys = nodes.get("keys", [])
    if not keys:
        raise ValueError("blockchain.nodes.keys lists no validator public key")
    genesis = dict(config["genesis"])
    genesis["extraData"] = encode_extradata([address_of_public_key(k) for k in keys])
    return genesis


def main(argv):
    if len(argv) >= 2 and argv[0] == "encode":
        print(encode_extradata(argv[1:]))
    elif len(argv) == 2 and argv[0] == "decode":
        print(json.dumps(decode_extradata(argv[1]), indent=2))
    elif len(argv) == 2 and argv[0] == "address":
        print(address_of_public_key(argv[1]))
    elif len(argv) in (2, 3) and argv[0] == "genesis":
        with open(argv[1], encoding="utf-8") as f:
            text = json.dumps(genesis_from_config(json.load(f)), indent=2) + "\n"
        if len(argv) == 3:
            with open(argv[2], "w", encoding="utf-8") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (ValueError, KeyError, OSError, json.JSONDecodeError) as e:
        sys.stderr.write(f"qbft_extradata: {e}\n")
        sys.exit(1)
