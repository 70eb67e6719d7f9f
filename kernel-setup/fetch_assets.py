#!/usr/bin/env python3
"""Fetch the browser assets listed in assets.json into a static directory.

Usage: fetch_assets.py DEST_DIR

Each asset is an npm tarball: it is downloaded (or taken from DSGYM_ASSET_CACHE
when that directory holds it), checked against its pinned sha512 integrity, and
one member is extracted. A file already in place with the right content is left
alone, so running this twice changes nothing.
"""
import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def integrity_ok(data: bytes, integrity: str) -> bool:
    algo, _, want = integrity.partition("-")
    got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    return got == want


def fetch(url: str, cache_dir: str | None) -> bytes:
    name = url.rsplit("/", 1)[-1]
    if cache_dir:
        cached = os.path.join(cache_dir, name)
        if os.path.exists(cached):
            with open(cached, "rb") as f:
                return f.read()
    with urllib.request.urlopen(url, timeout=60) as resp:
        data = resp.read()
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        with open(os.path.join(cache_dir, name), "wb") as f:
            f.write(data)
    return data


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    dest_root = sys.argv[1]
    with open(os.path.join(HERE, "assets.json")) as f:
        spec = json.load(f)
    cache_dir = os.environ.get("DSGYM_ASSET_CACHE")
    for asset in spec["assets"]:
        dest = os.path.join(dest_root, asset["dest"])
        stamp = dest + ".integrity"
        if os.path.exists(dest) and os.path.exists(stamp):
            with open(stamp) as f:
                if f.read().strip() == asset["integrity"]:
                    continue
        try:
            data = fetch(asset["tarball"], cache_dir)
        except OSError as e:
            print(f"could not download {asset['name']} {asset['version']} from {asset['tarball']}: {e}; "
                  "charts will load it from the CDN instead until setup runs again with network access",
                  file=sys.stderr)
            return 1
        if not integrity_ok(data, asset["integrity"]):
            print(f"{asset['tarball']} does not match its pinned integrity hash; refusing to use it", file=sys.stderr)
            return 1
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            member = tar.extractfile(asset["member"])
            if member is None:
                print(f"{asset['member']} is not in {asset['tarball']}", file=sys.stderr)
                return 1
            content = member.read()
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest))
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        with open(stamp, "w") as f:
            f.write(asset["integrity"] + "\n")
        print(f"    {asset['name']} {asset['version']} -> {dest} ({len(content) // 1024} KiB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
