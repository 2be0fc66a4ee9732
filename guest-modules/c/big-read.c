// Hostile: asks to read 1 GiB from a 5-byte file (into a small buffer): a host that allocates the
// length asked for, and copies it across threads, would spend gigabytes. Prints what came back.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static char buffer[64];

int main(void) {
  int fd = open("/data/small.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (fd < 0) { perror("open"); return 1; }
  if (write(fd, "hello", 5) != 5) { perror("write"); return 1; }
  for (int i = 0; i < 3; i++) {
    long got = (long)pread(fd, buffer, 1L << 30, 0);
    printf("{\"read\":%ld}\n", got);
    fflush(stdout);
  }
  close(fd);
  return 0;
}
