"""The short fault suite (2 trials per scenario, 10 s S3 outages); scripts/chaos.sh runs the
full one."""
import os

from chaos import Harness, run, table


def test_every_scenario_survives(tmp_path, s3_settings):
    server_bin = os.environ["UPLOADER_SERVER_BIN"]
    harness = Harness(str(tmp_path), s3_settings, server_bin, os.path.join(os.path.dirname(server_bin), "uploader"))
    rows, failures = run(harness, trials=2, outage=(10, 10))
    print("\n" + table(rows))
    assert not failures, "\n".join(failures)
