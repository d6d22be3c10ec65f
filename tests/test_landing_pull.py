"""`pull_source`: folders, globs and http(s) URLs pulled into landing, all or nothing.

Files are served by a real HTTP server on 127.0.0.1 (a background thread), whose routes
can fail, stall, cut a body short or redirect, and which counts the requests it saw.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import LAYOUTS_DIR

from ingest.landing import PulledFile, PullError, pull_folder, pull_source

pytestmark = pytest.mark.integration

SUFFIXES = (".csv", ".xlsx")
PAST = 1_000_000_000  # an mtime long ago: a rewrite of the file would change it

Route = Callable[[BaseHTTPRequestHandler], None]


class Site:
    """What the test server serves, and what it saw."""

    def __init__(self, port: int):
        self.port = port
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.release = threading.Event()  # wakes stalled handlers at teardown

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        site: Site = self.server.site
        path = urlsplit(self.path).path
        site.hits[path] += 1
        site.routes.get(path, status(404))(self)

    def log_message(self, *args):
        pass


def body(data: bytes, code: int = 200) -> Route:
    def route(handler):
        handler.send_response(code)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return route


def status(code: int) -> Route:
    return body(f"status {code}\n".encode(), code)


def fail_first(times: int, failure: Route, then: Route) -> Route:
    calls = Counter()

    def route(handler):
        calls["n"] += 1
        (failure if calls["n"] <= times else then)(handler)

    return route


def truncated(sent: int, announced: int) -> Route:
    def route(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(announced))
        handler.end_headers()
        handler.wfile.write(b"x" * sent)
        handler.wfile.flush()
        handler.close_connection = True

    return route


def redirect(location: str) -> Route:
    def route(handler):
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.site = Site(server.server_address[1])
    server.handle_error = lambda request, address: None  # clients that gave up are expected
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server.site
    server.site.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


def pull(locations, landing, **options):
    options = {"timeout": 2.0, "retries": 3, "backoff": 0.001} | options
    return pull_source(locations, SUFFIXES, landing, **options)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file in `folder` (temporary files included) with its bytes and mtime."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.fixture
def landing(tmp_path) -> Path:
    """A landing folder holding last night's good data, with old mtimes."""
    folder = tmp_path / "landing"
    folder.mkdir()
    for name, data in {"a.csv": b"old a\n", "gone.csv": b"old gone\n"}.items():
        (folder / name).write_bytes(data)
        os.utime(folder / name, (PAST, PAST))
    return folder


def test_downloads_a_file_by_its_url_name(site, tmp_path):
    site.routes["/files/My%20Data.csv"] = body(b"x,y\n1,2\n")
    landing = tmp_path / "new" / "landing"
    pulled = pull([site.url("/files/My%20Data.csv?token=secret&v=2")], landing)
    assert pulled == [PulledFile("My Data.csv", sha(b"x,y\n1,2\n"), 8, True)]
    assert [p.name for p in landing.iterdir()] == ["My Data.csv"]  # no temporary file left
    assert (landing / "My Data.csv").read_bytes() == b"x,y\n1,2\n"


def test_unchanged_file_is_not_rewritten_and_changed_file_is(site, tmp_path):
    site.routes["/a.csv"] = body(b"one\n")
    landing = tmp_path / "landing"
    assert pull([site.url("/a.csv")], landing)[0].changed
    os.utime(landing / "a.csv", (PAST, PAST))

    again = pull([site.url("/a.csv")], landing)
    assert again == [PulledFile("a.csv", sha(b"one\n"), 4, False)]
    assert (landing / "a.csv").stat().st_mtime == PAST

    site.routes["/a.csv"] = body(b"two!\n")
    changed = pull([site.url("/a.csv")], landing)
    assert changed == [PulledFile("a.csv", sha(b"two!\n"), 5, True)]
    assert (landing / "a.csv").read_bytes() == b"two!\n"
    assert site.hits["/a.csv"] == 3


@pytest.mark.parametrize("code", [500, 503, 429])
def test_server_error_that_recovers_is_retried(site, landing, code):
    site.routes["/a.csv"] = fail_first(1, status(code), body(b"new a\n"))
    pulled = pull([site.url("/a.csv")], landing)
    assert site.hits["/a.csv"] == 2
    assert pulled == [PulledFile("a.csv", sha(b"new a\n"), 6, True)]
    assert (landing / "a.csv").read_bytes() == b"new a\n"
    assert not (landing / "gone.csv").exists()  # success: what no location produced goes


def test_persistent_server_error_fails_and_leaves_landing_as_it_was(site, landing):
    site.routes["/a.csv"] = status(500)
    before = snapshot(landing)
    url = site.url("/a.csv")
    with pytest.raises(PullError) as failure:
        pull([url], landing, retries=3)
    assert str(failure.value) == f"{url}: HTTP 500 after 4 attempts"
    assert site.hits["/a.csv"] == 4
    assert snapshot(landing) == before  # contents, mtimes, the stale file: all kept


def test_client_error_is_not_retried(site, landing):
    before = snapshot(landing)
    with pytest.raises(PullError, match=r"/missing\.csv: HTTP 404$"):
        pull([site.url("/missing.csv")], landing, retries=3)
    assert site.hits["/missing.csv"] == 1
    assert snapshot(landing) == before


def test_no_response_within_the_timeout_fails(site, landing):
    site.routes["/slow.csv"] = lambda handler: site.release.wait(5)
    before = snapshot(landing)
    started = time.monotonic()
    with pytest.raises(PullError, match=r"/slow\.csv: timed out after 0\.5 s .*\(2 attempts\)"):
        pull([site.url("/slow.csv")], landing, timeout=0.5, retries=1)
    assert time.monotonic() - started < 3
    assert site.hits["/slow.csv"] == 2
    assert snapshot(landing) == before


def test_body_that_stalls_times_out(site, landing):
    def stall(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b"x" * 10)
        handler.wfile.flush()
        site.release.wait(5)

    site.routes["/a.csv"] = stall
    before = snapshot(landing)
    with pytest.raises(PullError, match=r"/a\.csv: timed out after 0\.5 s reading the body \(1 attempt\)"):
        pull([site.url("/a.csv")], landing, timeout=0.5, retries=0)
    assert snapshot(landing) == before


def test_truncated_body_is_detected_retried_and_leaves_landing_as_it_was(site, landing):
    site.routes["/a.csv"] = truncated(sent=100, announced=500)
    before = snapshot(landing)
    url = site.url("/a.csv")
    with pytest.raises(PullError) as failure:
        pull([url], landing, retries=1)
    assert str(failure.value) == f"{url}: body truncated: got 100 of 500 bytes (2 attempts)"
    assert site.hits["/a.csv"] == 2
    assert snapshot(landing) == before


def test_truncated_body_then_a_whole_one(site, landing):
    site.routes["/a.csv"] = fail_first(1, truncated(sent=3, announced=6), body(b"whole\n"))
    assert pull([site.url("/a.csv")], landing)[0].sha256 == sha(b"whole\n")
    assert (landing / "a.csv").read_bytes() == b"whole\n"


def test_refused_connection_is_retried_then_fails(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/a.csv"
    with pytest.raises(PullError, match=rf"^{url}: cannot connect: .*\(3 attempts\)$"):
        pull([url], tmp_path / "landing", retries=2)


def test_expected_checksum_mismatch_fails(site, landing):
    site.routes["/a.csv"] = body(b"new a\n")
    before = snapshot(landing)
    with pytest.raises(PullError, match=r"/a\.csv: sha256 mismatch: got [0-9a-f]{64}, expected 0{64}$"):
        pull([site.url("/a.csv")], landing, expected_sha256={"a.csv": "0" * 64})
    assert snapshot(landing) == before
    # The right checksum (any case) passes.
    pulled = pull([site.url("/a.csv")], landing, expected_sha256={"a.csv": sha(b"new a\n").upper()})
    assert pulled[0].changed


def test_expected_checksum_for_a_file_no_location_provides_fails(site, landing):
    site.routes["/a.csv"] = body(b"new a\n")
    with pytest.raises(PullError, match=r"no location provides: b\.csv"):
        pull([site.url("/a.csv")], landing, expected_sha256={"b.csv": "0" * 64})
    assert site.hits["/a.csv"] == 0  # checked before downloading anything


def test_folder_glob_and_url_locations_together(site, tmp_path):
    exports, ae = tmp_path / "exports", tmp_path / "data" / "ae"
    exports.mkdir()
    ae.mkdir(parents=True)
    (exports / "b.xlsx").write_bytes(b"xlsx bytes")
    (exports / "notes.txt").write_text("not an input")
    (exports / ".hidden.csv").write_text("hidden")
    (ae / "Monthly-AE-2024-01.csv").write_text("jan\n")
    (ae / "Monthly-AE-2024-02.CSV").write_text("feb\n")
    (ae / "Other-2024-01.csv").write_text("not matched\n")
    site.routes["/ref/etr.csv"] = body(b"ods\n")
    landing = tmp_path / "landing"

    pulled = pull([str(exports), "data/ae/Monthly-AE-*", site.url("/ref/etr.csv")], landing, base_dir=tmp_path)
    assert [p.name for p in pulled] == ["b.xlsx", "Monthly-AE-2024-01.csv", "Monthly-AE-2024-02.CSV", "etr.csv"]
    assert all(p.changed for p in pulled)
    assert sorted(p.name for p in landing.iterdir()) == sorted(p.name for p in pulled)
    assert (landing / "Monthly-AE-2024-02.CSV").read_text() == "feb\n"
    assert pulled[0] == PulledFile("b.xlsx", sha(b"xlsx bytes"), 10, True)

    # A second pull (absolute glob this time) rewrites nothing; a file gone from the folder
    # goes from landing.
    (exports / "b.xlsx").unlink()
    (exports / "c.csv").write_text("c\n")
    again = pull([str(exports), str(ae / "Monthly-AE-*"), site.url("/ref/etr.csv")], landing, base_dir=tmp_path / "x")
    assert {p.name: p.changed for p in again} == {
        "c.csv": True,
        "Monthly-AE-2024-01.csv": False,
        "Monthly-AE-2024-02.CSV": False,
        "etr.csv": False,
    }
    assert not (landing / "b.xlsx").exists()


def test_location_that_yields_nothing_fails(tmp_path, landing):
    before = snapshot(landing)
    (tmp_path / "empty").mkdir()
    for location, message in [
        ("nothing-*.csv", "no .csv or .xlsx files match"),
        ("empty", "no .csv or .xlsx files in this folder"),
        ("no-such-folder", "no such folder or file"),
    ]:
        with pytest.raises(PullError, match=message):
            pull([location], landing, base_dir=tmp_path)
    assert snapshot(landing) == before


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/report.pdf", "report.pdf is not a .csv or .xlsx file"),
        ("/download?file=x.csv", "download is not a .csv or .xlsx file"),  # the query is not the name
        ("/folder/", "does not end in a usable file name"),
        ("/x/..%2F..%2Fevil.csv", "does not end in a usable file name"),
    ],
)
def test_url_without_an_accepted_file_name_fails_before_any_request(site, landing, path, message):
    with pytest.raises(PullError, match=message):
        pull([site.url(path)], landing)
    assert sum(site.hits.values()) == 0


def test_url_query_is_not_shown_in_errors(site, tmp_path):
    with pytest.raises(PullError) as failure:
        pull([site.url("/a.csv?token=secret")], tmp_path / "landing")
    assert "secret" not in str(failure.value)
    assert str(failure.value) == f"{site.url('/a.csv')}?...: HTTP 404"


def test_only_http_urls_and_redirects_are_followed(site, tmp_path, landing):
    (tmp_path / "local.csv").write_text("local\n")
    with pytest.raises(PullError, match="only http:// and https:// URLs"):
        pull([(tmp_path / "local.csv").as_uri()], landing)

    site.routes["/a.csv"] = redirect(f"file://{tmp_path / 'local.csv'}")
    before = snapshot(landing)
    with pytest.raises(PullError, match=r"/a\.csv: redirected to a non-http\(s\) URL"):
        pull([site.url("/a.csv")], landing)
    assert site.hits["/a.csv"] == 1  # not retried
    assert snapshot(landing) == before

    site.routes["/a.csv"] = redirect("/storage/blob-123")
    site.routes["/storage/blob-123"] = body(b"redirected\n")
    assert pull([site.url("/a.csv")], landing)[0].name == "a.csv"  # named after the URL asked for
    assert (landing / "a.csv").read_bytes() == b"redirected\n"


def test_one_failing_location_means_nothing_changes(site, landing):
    site.routes["/a.csv"] = body(b"new a\n")
    site.routes["/b.csv"] = status(500)
    before = snapshot(landing)
    with pytest.raises(PullError, match=r"^http://127\.0\.0\.1:\d+/b\.csv: HTTP 500 after 2 attempts$"):
        pull([site.url("/a.csv"), site.url("/b.csv")], landing, retries=1)
    assert site.hits["/a.csv"] == 1  # it was downloaded, then thrown away
    assert snapshot(landing) == before


def test_two_locations_with_the_same_landing_name_fail(site, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.csv").write_text("a\n")
    with pytest.raises(PullError, match=rf"{folder / 'a.csv'} and {site.url('/x/a.csv')} would both land as a.csv"):
        pull([str(folder), site.url("/x/a.csv")], tmp_path / "landing")
    assert site.hits["/x/a.csv"] == 0


def test_pull_folder_still_mirrors_a_folder(tmp_path, landing):
    source = tmp_path / "source"
    source.mkdir()
    (source / "a.csv").write_bytes(b"old a\n")  # same bytes as landing already has
    (source / "b.csv").write_bytes(b"b\n")
    pulled = pull_folder(source, SUFFIXES, landing)
    assert [(p.name, p.changed) for p in pulled] == [("a.csv", False), ("b.csv", True)]
    assert (landing / "a.csv").stat().st_mtime == PAST
    assert sorted(p.name for p in landing.iterdir()) == ["a.csv", "b.csv"]

    with pytest.raises(PullError, match="does not exist or is not a folder"):
        pull_folder(tmp_path / "missing", SUFFIXES, landing)
    # An emptied source folder is an error and no longer empties landing.
    for path in source.iterdir():
        path.unlink()
    with pytest.raises(PullError, match=r"no \.csv or \.xlsx files"):
        pull_folder(source, SUFFIXES, landing)
    assert sorted(p.name for p in landing.iterdir()) == ["a.csv", "b.csv"]


def test_pull_asset_from_a_url_keeps_the_last_good_file_when_the_server_fails(site, tmp_path):
    """The staff survey source configured as a URL in sources.yaml: a good pull lands the
    file; a later pull meeting HTTP 500 keeps last night's file in landing (so the run goes
    on) and fails the `pull_succeeded` check, severity ERROR, naming the URL and the cause."""
    from dagster import materialize

    from ingest.sources import publication_layouts
    from orchestration.assets import pull_assets
    from orchestration.resources import ProjectPaths

    config = tmp_path / "config"
    (config / "layouts").mkdir(parents=True)
    shutil.copy(LAYOUTS_DIR / "staff_survey.yaml", config / "layouts")
    url = site.url("/survey/staff_survey_2024.csv")
    (config / "sources.yaml").write_text(
        f"sources:\n  staff_survey:\n    locations: ['{url}']\n    timeout_seconds: 1\n    retries: 1\n",
        encoding="utf-8",
    )
    paths = ProjectPaths(data_dir=str(tmp_path / "var"), config_dir=str(config))
    staff_survey_pull = next(
        a for a in pull_assets(publication_layouts(config)) if a.key.path == ["landing", "staff_survey"]
    )
    site.routes["/survey/staff_survey_2024.csv"] = body(b"ODS code,Year,Stress_base\nRX7,2024,10\n")
    assert materialize([staff_survey_pull], resources={"paths": paths}).success
    landed = paths.landing("staff_survey") / "staff_survey_2024.csv"
    good = landed.read_bytes()

    site.routes["/survey/staff_survey_2024.csv"] = status(500)
    result = materialize([staff_survey_pull], resources={"paths": paths})
    assert result.success  # the run goes on with last night's file ...
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == "pull_succeeded")
    assert not check.passed and check.severity.value == "ERROR"  # ... and says loudly that the pull failed
    message = check.description
    assert "staff_survey: pull failed, the last good files are kept in landing (1 files)" in message
    assert "HTTP 500 after 2 attempts" in message and "/survey/staff_survey_2024.csv" in message
    assert landed.read_bytes() == good


# --- Hostile servers: an overall deadline, a size cap, prompt stops (issue 21) ---------------


def trickle(every: float, announced: int | None = 1_000_000) -> Route:
    """A body sent one byte at a time, `every` seconds apart, for ever (until teardown)."""

    def route(handler):
        handler.send_response(200)
        if announced is not None:
            handler.send_header("Content-Length", str(announced))
        handler.end_headers()
        while not handler.server.site.release.wait(every):
            handler.wfile.write(b"x")
            handler.wfile.flush()

    return route


def endless(announced: int | None = None) -> Route:
    """A body that never ends (or announces `announced` bytes), sent as fast as it goes."""

    def route(handler):
        handler.send_response(200)
        if announced is not None:
            handler.send_header("Content-Length", str(announced))
        handler.end_headers()
        block = b"y" * 65536
        while not handler.server.site.release.is_set():
            handler.wfile.write(block)

    return route


def test_a_trickling_server_meets_the_pulls_overall_deadline(site, landing):
    """One byte every 0.2 s never trips the 5 s read timeout; the 1.5 s deadline stops it."""
    site.routes["/trickle.csv"] = trickle(0.2)
    before = snapshot(landing)
    started = time.monotonic()
    with pytest.raises(PullError, match=r"/trickle\.csv: the pull's deadline of 1\.5 s passed \(deadline_seconds\)"):
        pull([site.url("/trickle.csv")], landing, timeout=5.0, deadline=1.5)
    assert 1.4 < time.monotonic() - started < 3.0
    assert snapshot(landing) == before  # no partial file, no temporary file left


def test_the_deadline_covers_retries_and_their_waits(site, landing):
    site.routes["/down.csv"] = status(503)
    started = time.monotonic()
    with pytest.raises(
        PullError, match=r"HTTP 503 after 1 attempt; no time left for another before the pull's deadline of 1 s"
    ):
        pull([site.url("/down.csv")], landing, retries=5, backoff=2.0, deadline=1.0)
    assert time.monotonic() - started < 1.5
    assert site.hits["/down.csv"] == 1


def test_a_huge_announced_body_is_refused_before_it_is_read(site, landing):
    site.routes["/huge.csv"] = endless(announced=2 * 2**30)
    before = snapshot(landing)
    with pytest.raises(
        PullError, match=r"/huge\.csv: announces 2,147,483,648 bytes, over the source's size cap of 1,048,576 bytes"
    ):
        pull([site.url("/huge.csv")], landing, max_bytes=2**20)
    assert snapshot(landing) == before


def test_a_never_ending_body_stops_at_the_size_cap(site, landing):
    """No Content-Length and no end: the download stops as soon as it passes the cap, and
    nothing of it stays on disk."""
    site.routes["/endless.csv"] = endless()
    before = snapshot(landing)
    started = time.monotonic()
    with pytest.raises(
        PullError, match=r"/endless\.csv: is larger than [0-9,]+ bytes so far, over the source's size cap of 4,194,304"
    ):
        pull([site.url("/endless.csv")], landing, max_bytes=4 * 2**20)
    assert time.monotonic() - started < 3.0
    assert snapshot(landing) == before


def test_a_local_file_over_the_size_cap_is_refused(tmp_path, landing):
    source = tmp_path / "drop"
    source.mkdir()
    (source / "big.csv").write_bytes(b"z" * 2000)
    with pytest.raises(
        PullError, match=r"big\.csv: is larger than 2,000 bytes so far, over the source's size cap of 1,000 bytes"
    ):
        pull([str(source)], landing, max_bytes=1000)


def test_symbolic_links_out_of_a_source_folder_are_not_followed(tmp_path, landing):
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "passwd.csv").write_text("root:x:0:0\n")
    source = tmp_path / "drop"
    source.mkdir()
    (source / "real.csv").write_text("a\n")
    (source / "inside.csv").symlink_to(source / "real.csv")  # a link within the folder is fine
    assert sorted(p.name for p in pull_source([str(source)], SUFFIXES, tmp_path / "ok")) == ["inside.csv", "real.csv"]
    (source / "passwd.csv").symlink_to(outside / "passwd.csv")
    before = snapshot(landing)
    for location in (str(source), str(source / "*.csv")):
        with pytest.raises(PullError, match=r"passwd\.csv: a symbolic link to a file outside .*not followed"):
            pull([location], landing)
    assert snapshot(landing) == before


def test_credentials_in_a_url_are_never_shown(site, tmp_path):
    from ingest.landing import shown_location

    url = site.url("/a.csv").replace("http://", "http://analyst:hunter2@") + "?token=s3cr3t-token"
    assert shown_location(url) == site.url("/a.csv") + "?..."
    assert shown_location("/drop/evil\nINFO forged.csv") == "/drop/evil\\nINFO forged.csv"
    with pytest.raises(PullError) as failure:
        pull([url], tmp_path / "landing", retries=0)
    assert "hunter2" not in str(failure.value) and "analyst" not in str(failure.value)
    assert "s3cr3t" not in str(failure.value)


def test_sigterm_stops_a_trickling_pull_promptly_without_a_retry(site, tmp_path):
    """The pull asset run by Dagster in another process, stuck on a trickling server: SIGTERM
    ends the process within seconds, and the server saw one request (no retry)."""
    import signal
    import subprocess
    import sys

    config = tmp_path / "config"
    (config / "layouts").mkdir(parents=True)
    shutil.copy(LAYOUTS_DIR / "staff_survey.yaml", config / "layouts")
    (config / "sources.yaml").write_text(
        f"sources:\n  staff_survey:\n    locations: ['{site.url('/slow/survey.csv')}']\n    timeout_seconds: 30\n",
        encoding="utf-8",
    )
    site.routes["/slow/survey.csv"] = trickle(0.2)
    script = (
        "import sys\n"
        "from dagster import DagsterInstance, materialize\n"
        "from orchestration.assets import pull_asset\n"
        "from orchestration.resources import ProjectPaths\n"
        f"paths = ProjectPaths(data_dir={str(tmp_path / 'var')!r}, config_dir={str(config)!r})\n"
        "asset = pull_asset('staff_survey', 'NHS Staff Survey')\n"
        "result = materialize([asset], resources={'paths': paths}, raise_on_error=False,"
        " instance=DagsterInstance.ephemeral())\n"
        "sys.exit(0 if result.success else 3)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while site.hits["/slow/survey.csv"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert site.hits["/slow/survey.csv"] == 1, "the pull never started"
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        assert process.wait(timeout=15) != 0
        assert time.monotonic() - stopped < 10
        assert site.hits["/slow/survey.csv"] == 1  # not restarted
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
