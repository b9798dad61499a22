"""The system under test: one redis-server (AOF fsynced on every write) and three gateways
sharing it, with the faults the schedule injects. Gateways keep their ports and sockets across
restarts, so clients reconnect to the same addresses."""
import signal
import threading
import time

from jobgate_harness import Gateway, RedisServer

GATEWAYS = 3


class Cluster:
    def __init__(self, directory):
        self.dir = directory
        self.redis = RedisServer(directory, appendfsync="always")
        self.gateways = [Gateway(directory, self.redis.url, ["--log-level", "warn"], name=f"gateway{i}")
                         for i in range(GATEWAYS)]
        self.lock = threading.Lock()
        self.redis_stopped = False

    def start(self):
        self.redis.start()
        for g in self.gateways:
            g.start()
        return self

    def address(self, rng):
        """A gateway to talk to: (kind, where), picked at random; down ones refuse the connect."""
        g = rng.choice(self.gateways)
        return ("unix", g.unix) if rng.random() < 0.5 else ("tcp", g.port)

    # Faults. Each returns when the system is whole again.

    def kill_gateway(self, index, down_seconds):
        g = self.gateways[index]
        g.proc.send_signal(signal.SIGKILL)
        g.proc.wait()
        g.log.close()
        time.sleep(down_seconds)
        g.start()

    def pause_redis(self, seconds):
        with self.lock:
            self.redis_stopped = True
            self.redis.proc.send_signal(signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            self.resume_redis()

    def resume_redis(self):
        with self.lock:
            if self.redis_stopped:
                self.redis.proc.send_signal(signal.SIGCONT)
                self.redis_stopped = False

    def kill_redis(self, down_seconds):
        self.redis.proc.send_signal(signal.SIGKILL)
        self.redis.proc.wait()
        time.sleep(down_seconds)
        self.redis.start()

    def wait_all_ready(self, timeout=30):
        """After the faults: every gateway up and reporting Redis ready."""
        for g in self.gateways:
            if g.proc.poll() is not None:
                g.start()
            g.wait_ready(timeout=timeout)

    def close(self):
        self.resume_redis()
        for g in self.gateways:
            g.stop(signal.SIGKILL)
        self.redis.stop(signal.SIGKILL)
