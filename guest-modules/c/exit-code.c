// Ends with exit(3): the host must survive, and the workload reports an exit failure.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  printf("{\"exiting\":3}\n");
  fflush(stdout);
  exit(3);
}
