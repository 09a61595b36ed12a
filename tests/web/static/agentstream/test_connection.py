"""The socket's lifecycle: status, reconnect, refusal, heartbeat (agentstream/connection.js)."""

from __future__ import annotations

from typing import Any

from tests.web.static.harness import js


def test_status_goes_connecting_live_reconnecting_then_offline(page: Any) -> None:
    """A drop shows reconnecting; retries past offlineAfter show offline; success is live."""
    statuses = js(
        page,
        """
      const c = client({ offlineAfter: 2 });
      const seen = [c.status];
      c.addEventListener('status', (e) => seen.push(e.detail.status));
      last().open();
      last().drop();
      for (let i = 0; i < 3; i++) {
        const n = FakeSocket.all.length;
        await until(() => FakeSocket.all.length > n, 'a retry');
        last().drop();
      }
      const n = FakeSocket.all.length;
      await until(() => FakeSocket.all.length > n, 'a retry');
      last().open();
      c.close();
      return seen;
    """,
    )
    assert statuses == [
        "connecting",
        "live",
        "reconnecting",
        "reconnecting",
        "offline",
        "offline",
        "live",
        "offline",
    ]


def test_a_refusing_server_goes_offline_without_retrying(page: Any) -> None:
    """Close code 1008 (policy) means retrying cannot help: offline, and runs fail 'refused'."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      const run = c.start('makecall', {prompt: 'p'});
      last().drop(1008);
      await run.finished;
      await new Promise((r) => setTimeout(r, 20));
      return {status: c.status, sockets: FakeSocket.all.length, code: run.error.code};
    """,
    )
    assert result == {"status": "offline", "sockets": 1, "code": "refused"}


def test_the_socket_url_carries_the_dialect_and_no_user(page: Any) -> None:
    """The client dials url?dialect=…&coalesce=auto and names no user (the cookie proves it)."""
    url = js(page, "client(); return last().url;")
    assert url == "ws://agentstream.test/ws?dialect=calledit&coalesce=auto"


def test_the_socket_url_keeps_a_coalesce_the_page_chose(page: Any) -> None:
    """coalesce: "off" is sent as asked, and a coalesce already in the url is left alone."""
    urls = js(
        page,
        """
      const a = client({url: 'ws://agentstream.test/ws', coalesce: 'off', dialect: ''});
      const b = client({url: 'ws://agentstream.test/ws?coalesce=50', dialect: ''});
      return [a.socketUrl, b.socketUrl];
    """,
    )
    assert urls == ["ws://agentstream.test/ws?coalesce=off", "ws://agentstream.test/ws?coalesce=50"]


def test_a_server_down_from_the_start_reads_connecting_then_offline(page: Any) -> None:
    """Before the first success the status says connecting (not reconnecting), then offline."""
    statuses = js(
        page,
        """
      const c = client({ offlineAfter: 1 });
      const seen = [c.status];
      c.addEventListener('status', (e) => seen.push(e.detail.status));
      for (let i = 0; i < 2; i++) {
        const n = FakeSocket.all.length;
        last().drop();
        await until(() => FakeSocket.all.length > n, 'a retry');
      }
      last().open();
      c.close();
      c.connect();
      return seen;
    """,
    )
    assert statuses == ["connecting", "offline", "live", "offline", "connecting"]


def test_an_unanswered_ping_means_a_dead_socket(page: Any) -> None:
    """The heartbeat pings; a socket that answers stays, one that goes silent is replaced."""
    result = js(
        page,
        """
      // 250 ms, not less: the answer must reach the client within one beat even on a busy machine.
      const c = client({ heartbeatMs: 250 });
      last().open();
      const first = last();
      await until(() => first.sent.some((m) => m.action === 'ping'), 'a ping');
      const ping = first.sent.find((m) => m.action === 'ping');
      first.receive({type: 'pong', requestId: ping.requestId});
      await until(() => first.sent.filter((m) => m.action === 'ping').length >= 2, 'a second ping');
      await until(() => FakeSocket.all.length === 2, 'a new socket');
      const replaced = first.readyState;
      c.close();
      return {pings: first.sent.filter((m) => m.action === 'ping').length, replaced};
    """,
    )
    assert result["pings"] >= 2 and result["replaced"] == 3


def test_a_token_is_offered_as_the_bearer_subprotocol(page: Any) -> None:
    """With a token the socket offers ["agentstream.bearer", token]; without one, no protocols."""
    offered = js(page, "client({token: 'abc.def'}); return last().protocols;")
    plain = js(page, "client(); return last().protocols ?? null;")
    assert offered == ["agentstream.bearer", "abc.def"] and plain is None


def test_coming_back_online_drops_a_hung_dial_and_dials_again(page: Any) -> None:
    """A socket stuck connecting when the network returns is replaced by a fresh one that opens."""
    result = js(
        page,
        """
      const c = client();
      last().open();
      last().drop();
      const n = FakeSocket.all.length;
      await until(() => FakeSocket.all.length > n, 'a retry');
      const hung = last();  // dialled while offline: never opens nor closes
      globalThis.dispatchEvent(new Event('online'));
      const fresh = last();
      fresh.open();
      const out = [hung !== fresh, hung.readyState, c.status];
      c.close();
      return out;
    """,
    )
    assert result == [True, 3, "live"]
