// Hostile: tries to read a host file. The sandbox has no such path; the attempt must fail.
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  FILE *f = fopen("/etc/passwd", "r");
  if (!f) {
    fprintf(stderr, "open /etc/passwd refused: %s\n", strerror(errno));
    return 1;
  }
  char line[256];
  if (fgets(line, sizeof line, f)) printf("LEAKED /etc/passwd: %s", line);
  return 0;
}
