// Hostile: prints its whole environment; only what its spec sets may appear.
#include <stdio.h>

extern char **environ;

int main(void) {
  int n = 0;
  for (char **e = environ; *e; e++, n++) printf("{\"env\":\"%s\"}\n", *e);
  printf("{\"count\":%d}\n", n);
  return 0;
}
