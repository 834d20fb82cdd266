"""Run a module with the parent test's clock: `python -m tests.clock_child OFFSET MODULE ARGS…`.

OFFSET is how far (seconds) the test's clock is from the real one; the child's clock is set to
real time + OFFSET and ticks, so a real `portal worker` sees the same "now" as the test.
"""
import runpy
import sys
import time

import time_machine


def main() -> None:
    offset, module, args = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
    time_machine.travel(time.time() + offset, tick=True).start()
    time.time()  # time-machine ticks from the first reading: take it now, not after the imports
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
