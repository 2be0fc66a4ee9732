// Hostile: opens a file, unlinks it, and writes on through the open descriptor (the bytes stay on disk
// while it is open, where no directory walk sees them). Reports how far it got and why it stopped.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char chunk[64 * 1024];

int main(void) {
  memset(chunk, 'u', sizeof chunk);
  int fd = open("/data/ghost.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (fd < 0) { printf("{\"error\":\"open: %s\"}\n", strerror(errno)); return 1; }
  unlink("/data/ghost.bin");
  long written = 0;
  const char *why = "none";
  for (int i = 0; i < 4096; i++) {  // 256 MB: far past the quota
    ssize_t n = write(fd, chunk, sizeof chunk);
    if (n < (ssize_t)sizeof chunk) { why = strerror(errno); break; }
    written += n;
  }
  printf("{\"written\":%ld,\"error\":\"%s\"}\n", written, why);
  close(fd);
  return 0;
}
