// Hostile: fills /data until a write fails, reports how far it got and why, then frees what it wrote
// and shows that writing works again (the quota is measured, not just counted up).
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  static char chunk[256 * 1024];
  memset(chunk, 'x', sizeof chunk);
  FILE *f = fopen("/data/fill.bin", "w");
  if (!f) {
    printf("{\"error\":\"open: %s\"}\n", strerror(errno));
    return 1;
  }
  long written = 0;
  const char *why = "none";
  for (int i = 0; i < 64; i++) {  // 16 MB: far past any quota the tests set
    size_t n = fwrite(chunk, 1, sizeof chunk, f);
    written += (long)n;
    if (n < sizeof chunk || fflush(f) != 0) {
      why = strerror(errno);
      break;
    }
  }
  fclose(f);
  printf("{\"written\":%ld,\"error\":\"%s\"}\n", written, why);
  remove("/data/fill.bin");
  FILE *again = fopen("/data/after.txt", "w");
  int ok = again && fputs("space again", again) >= 0 && fclose(again) == 0;
  printf("{\"afterDelete\":\"%s\"}\n", ok ? "written" : strerror(errno));
  return 0;
}
