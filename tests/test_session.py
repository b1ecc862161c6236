"""Who may see the data folder's full path (SPEC §7), and the environment the CLI serves with."""
from __future__ import annotations

from pathlib import Path

import pytest

from novamart_panel import session
from novamart_panel.cli import serve_environment


@pytest.mark.parametrize("host, local", [
    ("localhost:5006", True), ("127.0.0.1:5006", True), ("[::1]:5006", True), ("LOCALHOST", True),
    ("novamart.example.com", False), ("10.0.0.5:5006", False), ("192.168.1.2", False), ("", False),
    ("localhost.example.com:80", False), ("[2001:db8::1]:5006", False),
])
def test_only_a_browser_asking_for_localhost_is_local(host, local):
    assert session.request_is_local({"Host": host}) is local


@pytest.mark.parametrize("header", ["X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "X-Real-IP"])
def test_a_proxied_request_is_not_local_even_for_localhost(header):
    assert session.request_is_local({"Host": "localhost:5006", header: "203.0.113.9"}) is False


def test_outside_a_server_the_full_path_is_shown(tmp_path):
    assert not session.served()
    assert session.shown_folder(tmp_path) == str(tmp_path)


def test_a_visitor_sees_only_the_folder_name(monkeypatch, tmp_path):
    folder = tmp_path / "novamart_data"
    monkeypatch.setattr(session, "request_is_local", lambda headers=None: False)
    assert session.shown_folder(folder) == "novamart_data"
    monkeypatch.setattr(session, "request_is_local", lambda headers=None: True)
    assert session.shown_folder(folder) == str(folder)


def test_the_sidebar_and_the_report_show_the_folder_as_allowed(monkeypatch, packaged_store):
    from novamart_panel.app import App, extension
    from novamart_panel.report import build_report_html

    extension()
    monkeypatch.setattr(session, "request_is_local", lambda headers=None: False)
    app = App(packaged_store.folder)
    folder_pane = app.sidebar()[-1]
    assert folder_pane.object == f"Data: {Path(packaged_store.folder).name}"
    assert str(packaged_store.folder) not in build_report_html(app)


def test_serving_uses_the_c_allocator_unless_told_otherwise(monkeypatch, tmp_path):
    monkeypatch.delenv("PYTHONMALLOC", raising=False)
    env = serve_environment(tmp_path)
    assert env["PYTHONMALLOC"] == "malloc" and env["NOVAMART_DATA"] == str(tmp_path.resolve())
    monkeypatch.setenv("PYTHONMALLOC", "pymalloc")
    assert serve_environment(None)["PYTHONMALLOC"] == "pymalloc"


def test_the_clean_up_collects_when_there_is_no_event_loop():
    runs = session.COLLECTOR.runs
    session.COLLECTOR.schedule()
    assert session.COLLECTOR.runs == runs + 1
