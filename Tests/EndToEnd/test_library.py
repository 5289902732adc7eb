"""The README's library example is Sources/uploader-example/main.swift, byte for byte, and it
uploads through a real server into SeaweedFS."""
import os
import re
import subprocess

from conftest import ROOT, object_sha256

MiB = 1 << 20


def test_the_readme_shows_the_example_exactly():
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    block = re.search(r"<!-- Sources/uploader-example/main.swift -->\n```swift\n(.*?)```", readme, re.S)
    assert block, "README.md has no example block after its marker"
    with open(os.path.join(ROOT, "Sources/uploader-example/main.swift")) as f:
        assert block.group(1) == f.read()


def test_the_example_uploads_and_verifies(start_server, random_file, s3, bucket, tmp_path):
    path, digest = random_file(12 * MiB)
    server = start_server("--s3-bucket", bucket)
    binary = os.path.join(os.path.dirname(os.environ["UPLOADER_SERVER_BIN"]), "uploader-example")
    result = subprocess.run([binary, server.address, str(path), "library/example.bin"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"of {12 * MiB} bytes acknowledged" in result.stdout
    assert f"stored s3://{bucket}/library/example.bin, sha256 {digest}, verified: true" in result.stdout
    head = s3.head_object(Bucket=bucket, Key="library/example.bin")
    assert head["Metadata"] == {"source": "example", "sha256": digest}
    assert object_sha256(s3, bucket, "library/example.bin") == digest
    assert os.path.exists(tmp_path / ".uploader-example" / "journal.sqlite")
