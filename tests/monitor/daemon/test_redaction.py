"""The daemon's log never shows the database password, whichever form the URL takes."""

from __future__ import annotations

from pathlib import Path

from tests.monitor.daemons import DaemonProcess


def test_a_daemon_waiting_for_its_database_logs_the_url_without_secrets(tmp_path: Path) -> None:
    # Nothing listens on port 9: the daemon waits for the server and says so, each try.
    url = "postgresql+psycopg://watch:SECRET@127.0.0.1:9/pw?password=SECRET"
    daemon = DaemonProcess(url, tmp_path).start()
    try:
        daemon.wait_log("cannot reach the database")
        code, _ = daemon.terminate()
    finally:
        daemon.close()
    assert code == 0
    log = daemon.log()
    assert "SECRET" not in log
    assert "watch:********@127.0.0.1:9/pw?password=********" in log
