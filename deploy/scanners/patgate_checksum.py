#!/usr/bin/env python3
"""Checks candidate patgate tokens offline (no call to patgate).

A token is `pat_` or `sat_`, a 21-character id, `.`, 44 random characters
and a 6-character checksum: the CRC-32 (IEEE) of everything before it,
written in base62 (0-9A-Za-z, most significant first, zero-padded).

Usage: patgate_checksum.py TOKEN...   (or one token per line on stdin)
Prints `valid` or `invalid` per token; exits 1 if any is invalid.
"""
import re
import sys
import zlib

PATTERN = re.compile(r"\A(?:pat|sat)_[A-Za-z0-9]{21}\.[A-Za-z0-9]{50}\Z")
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def checksum(body: str) -> str:
    n = zlib.crc32(body.encode("ascii")) & 0xFFFFFFFF
    out = []
    for _ in range(6):
        out.append(ALPHABET[n % 62])
        n //= 62
    return "".join(reversed(out))


def is_patgate_token(token: str) -> bool:
    if not PATTERN.match(token):
        return False
    return checksum(token[:-6]) == token[-6:]


def main() -> int:
    tokens = sys.argv[1:] or [line.strip() for line in sys.stdin if line.strip()]
    ok = True
    for token in tokens:
        valid = is_patgate_token(token)
        ok = ok and valid
        print("valid" if valid else "invalid")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
