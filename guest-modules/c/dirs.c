// Hostile: makes 20,000 empty directories (each holds a disk block however empty). Reports how many
// it made and why it stopped.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int main(void) {
  char name[64];
  int made = 0;
  const char *why = "none";
  for (int i = 0; i < 20000; i++) {
    snprintf(name, sizeof name, "/data/d%05d", i);
    if (mkdir(name, 0755) != 0) { why = strerror(errno); break; }
    made++;
  }
  printf("{\"made\":%d,\"error\":\"%s\"}\n", made, why);
  return 0;
}
