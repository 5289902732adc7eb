"""The upload page in a real browser: Debian's chromium, driven by Playwright (from PyPI, with no
browser download). The network is cut mid-upload, the page reloaded and the file picked again:
the upload continues from the server's offset to a byte-identical object."""
import pytest
from playwright.sync_api import sync_playwright

from conftest import object_sha256

MiB = 1 << 20
CHROMIUM = "/usr/bin/chromium"


def link(cdp, offline):
    """A link of 16 MiB/s, so that the cut lands mid-upload; or none. Chromium keeps one set of
    emulated conditions per page, and the throttle set here outranks context.set_offline's, so
    the cut is made here as well."""
    cdp.send("Network.emulateNetworkConditions", {
        "offline": offline, "latency": 5, "downloadThroughput": -1, "uploadThroughput": 16 * MiB})


def row_state(page):
    return page.evaluate("() => { const r = document.querySelector('li'); return r ? {...r.dataset} : null }")


def test_the_page_resumes_from_the_servers_offset_after_the_network_drops_and_the_page_reloads(
        start_server, bucket, s3, random_file):
    server = start_server("--s3-bucket", bucket, "--http-listen", "127.0.0.1:0")
    page_url = server.tus_url.removesuffix("files/")
    path, digest = random_file(64 * MiB)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context()
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            link(cdp, offline=False)
            page.goto(page_url)
            assert page.title() == "uploader"
            page.set_input_files("#files", str(path))
            page.wait_for_function(
                "() => { const r = document.querySelector('li'); return r && Number(r.dataset.offset) >= 16 * 1048576 }",
                timeout=120_000)

            context.set_offline(True)
            link(cdp, offline=True)
            page.wait_for_function("() => document.querySelector('li').dataset.state === 'retrying'", timeout=60_000)
            acknowledged = int(row_state(page)["offset"])
            assert 0 < acknowledged < 64 * MiB, row_state(page)

            context.set_offline(False)
            link(cdp, offline=False)
            page.reload()
            page.set_input_files("#files", str(path))
            page.wait_for_function(
                "() => { const r = document.querySelector('li'); return r && ['done', 'failed'].includes(r.dataset.state) }",
                timeout=180_000)
            state = row_state(page)
            assert state["state"] == "done", state
            resumed_at = int(state["resumedAt"])
            assert acknowledged <= resumed_at < 64 * MiB, (acknowledged, state)
        finally:
            browser.close()
    assert object_sha256(s3, bucket, path.name) == digest
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
