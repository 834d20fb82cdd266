"""Real `portal worker` processes for tests and benchmarks: on the test's clock (tests/clock.py),
with the environment given (database, queue, gateway), each with its log in a file."""
import os
import subprocess
import time


class WorkerProcess:
    def __init__(self, clock, log_path, env: dict, *options: str):
        self.command = clock.python_command("portal.cli", "worker", *options)
        self.env = {**os.environ, "SECRET_KEY": "x", "HUEY_IMMEDIATE": "", **env}
        self.log_path = log_path
        self.process = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=log)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_started(self, seconds: float = 30):
        """Until the consumer says it has started (its threads then poll the queue)."""
        deadline = time.time() + seconds
        while "Huey consumer started" not in self.log() and time.time() < deadline:
            assert self.process.poll() is None, self.log()
            time.sleep(0.1)
        assert "Huey consumer started" in self.log(), self.log()

    def kill(self):
        self.process.kill()
        self.process.wait(10)

    def stop(self, seconds: float = 15):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(seconds)
            except subprocess.TimeoutExpired:
                self.kill()
