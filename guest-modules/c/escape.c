// Hostile: tries to leave its /data preopen through ".." and through a symlink (made by the test).
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int attempt(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "open %s refused: %s\n", path, strerror(errno));
    return 0;
  }
  char line[256] = {0};
  fgets(line, sizeof line, f);
  printf("LEAKED %s: %s\n", path, line);
  fclose(f);
  return 1;
}

int main(void) {
  int leaks = attempt("/data/../../../../etc/passwd") + attempt("/data/link/passwd") + attempt("/data/../outside.txt");
  FILE *own = fopen("/data/own.txt", "w");
  if (own) {
    fputs("inside", own);
    fclose(own);
    printf("{\"ownFile\":\"written\"}\n");
  }
  return leaks ? 0 : 1;
}
