#!/usr/bin/env python3
"""Uploads one file with tuspy, the tus project's Python client, as a web back end would: the
bench's row for the tus door. Usage: tus_upload.py FILE URL KEY [CHUNK_MIB]"""
import sys

from tusclient import client


def main():
    path, url, key = sys.argv[1:4]
    chunk = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    uploader = client.TusClient(url).uploader(path, chunk_size=chunk << 20, metadata={"key": key}, retries=5,
                                              retry_delay=1)
    uploader.upload()


if __name__ == "__main__":
    main()
