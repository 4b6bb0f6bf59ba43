"""Abuse resistance of the intake, on loopback only and bounded in count and time: slow
clients (slowloris), many idle keep-alive connections, oversized headers and a connection
flood cost bounded memory, never a stuck worker, and are reclaimed by the idle timeout.
Each test runs its own intake instance with a short idle timeout."""
import socket
import time
import unittest

from quarry_e2e import BIN_DIR, http, require_stack
from intake_support import Intake, insert_queued_job, limited_key

IDLE_TIMEOUT = 2
# Growth allowed while the abuse runs; a sanitized build keeps freed memory in quarantine.
RSS_GROWTH_KIB = (512 if "san" in BIN_DIR else 96) * 1024


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_by_server(s, wait):
    """True when the server closes s within `wait` seconds."""
    s.settimeout(wait)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except (socket.timeout, TimeoutError):
        return False
    except OSError:
        return True


class Abuse(unittest.TestCase):
    def setUp(self):
        require_stack(self)

    def responsive(self, intake, within=1.0):
        t0 = time.time()
        status, _, _ = http("GET", "/healthz", base=intake.url, timeout=5)
        return status == 200 and time.time() - t0 < within

    def test_slowloris_and_idle_keepalive_are_reclaimed(self):
        with Intake(QUARRY_INTAKE_IDLE_TIMEOUT=IDLE_TIMEOUT, QUARRY_INTAKE_THREADS=2) as intake:
            base_rss = intake.rss_kib()
            slow, idle = [], []
            try:
                # 300 slow clients: a request line and one header, then a byte now and then.
                for _ in range(300):
                    s = connect(intake.port)
                    s.sendall(b"POST /v1/questions HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    slow.append(s)
                # 300 keep-alive clients that made one request and went quiet.
                for _ in range(300):
                    s = connect(intake.port)
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    idle.append(s)
                for s in idle:
                    s.settimeout(5)
                    self.assertIn(b"200", s.recv(4096))
                # Keep the slow ones trickling for a while: the workers still serve others.
                for _ in range(3):
                    for s in slow:
                        try:
                            s.sendall(b"a")
                        except OSError:
                            pass
                    self.assertTrue(self.responsive(intake), "a worker is stuck")
                    time.sleep(IDLE_TIMEOUT / 2)
                self.assertLess(intake.rss_kib() - base_rss, RSS_GROWTH_KIB)
                # Silent now: everything is closed by the server after the idle timeout.
                deadline = time.time() + IDLE_TIMEOUT * 3
                for s in slow + idle:
                    self.assertTrue(closed_by_server(s, max(0.1, deadline - time.time())),
                                    "a silent connection was not reclaimed")
                self.assertTrue(self.responsive(intake))
            finally:
                for s in slow + idle:
                    s.close()

    def test_oversized_headers_and_connection_flood(self):
        with Intake(QUARRY_INTAKE_IDLE_TIMEOUT=IDLE_TIMEOUT, QUARRY_INTAKE_MAX_CONNECTIONS=200,
                    QUARRY_INTAKE_CONNECTION_MEMORY=16384) as intake:
            base_rss = intake.rss_kib()
            # A header bigger than the per-connection buffer: 431 or a close, never a crash.
            for size in (20000, 100000, 1000000):
                s = connect(intake.port)
                try:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size +
                              b"\r\n\r\n")
                except OSError:
                    pass  # closed while we were still sending: also fine
                s.settimeout(5)
                try:
                    reply = s.recv(4096)
                except OSError:
                    reply = b""
                s.close()
                self.assertTrue(reply == b"" or b" 431 " in reply.split(b"\r\n")[0]
                                or b" 413 " in reply.split(b"\r\n")[0], reply[:80])
            # Many headers within the limit are fine, and so is one large header (a long
            # bearer token, say) of 12,000 bytes: the documented limit of the 16 KiB default
            # is about 14,000 bytes of header block.
            status, _, _ = http("GET", "/healthz", base=intake.url,
                                headers={f"X-H{i}": "v" * 50 for i in range(40)})
            self.assertEqual(status, 200)
            status, _, _ = http("GET", "/healthz", base=intake.url, headers={"X-Big": "b" * 12000})
            self.assertEqual(status, 200)
            # More connections than the limit: the excess is refused, the server lives on.
            flood = []
            try:
                for _ in range(300):
                    try:
                        flood.append(connect(intake.port))
                    except OSError:
                        break
                time.sleep(0.5)
                refused = sum(1 for s in flood if closed_by_server(s, 0.05))
                self.assertGreaterEqual(refused, 50, "the connection limit was not enforced")
                self.assertLess(intake.rss_kib() - base_rss, RSS_GROWTH_KIB)
            finally:
                for s in flood:
                    s.close()
            deadline = time.time() + 5
            while not self.responsive(intake) and time.time() < deadline:
                time.sleep(0.1)
            self.assertTrue(self.responsive(intake))

    def test_a_long_poll_outlives_the_idle_timeout(self):
        # A waiting request is parked, not idle: it is answered when its wait ends.
        with Intake(QUARRY_INTAKE_IDLE_TIMEOUT=IDLE_TIMEOUT) as intake:
            key = limited_key("e2e-abuse-longpoll")
            job_id = insert_queued_job(key)
            t0 = time.time()
            status, _, job = http("GET", f"/v1/questions/{job_id}?wait={IDLE_TIMEOUT * 2}",
                                  key=key, base=intake.url, timeout=30)
            self.assertEqual((status, job["status"]), (200, "queued"))
            self.assertGreaterEqual(time.time() - t0, IDLE_TIMEOUT * 2 - 0.2)


if __name__ == "__main__":
    unittest.main()
