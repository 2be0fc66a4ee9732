// Hostile: writes log lines to stderr as fast as it can for argv[1] seconds (default 3) in one long
// run, then one stdout line. A host that buffers what a command writes until it returns would grow
// without bound; lines past the log budget must be refused and counted instead.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 3;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  long lines = 0;
  do {
    for (int i = 0; i < 1000; i++) fprintf(stderr, "flood line %ld with some padding to make it longer than a few bytes\n", lines++);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (now.tv_sec - start.tv_sec < seconds);
  printf("{\"lines\":%ld}\n", lines);
  return 0;
}
