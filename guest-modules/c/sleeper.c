// A command that runs for a while (argv[1] seconds, default 30), printing a line each second: a long
// `run` that no call deadline may end.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 30;
  for (int i = 1; i <= seconds; i++) {
    sleep(1);
    printf("{\"second\":%d}\n", i);
    fflush(stdout);
  }
  return 0;
}
