// Reads its stdin to the end and says how many bytes it got: a workload has none (end-of-file at
// once); `wasmhost run` passes its own stdin through.
#include <stdio.h>
#include <unistd.h>
int main(void) {
  char buf[4096];
  long total = 0;
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0) total += n;
  printf("read %ld bytes (last read %zd)\n", total, n);
  return 0;
}
