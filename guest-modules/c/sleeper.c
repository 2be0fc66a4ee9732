// A command that runs for a while: argv[1] lines (default 30), one every argv[2] ms (default 1000).
// A long `run` that no call deadline may end, and a steady source of stdout telemetry.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int lines = argc > 1 ? atoi(argv[1]) : 30;
  int interval_ms = argc > 2 ? atoi(argv[2]) : 1000;
  for (int i = 1; i <= lines; i++) {
    usleep(interval_ms * 1000);
    printf("{\"line\":%d}\n", i);
    fflush(stdout);
  }
  return 0;
}
