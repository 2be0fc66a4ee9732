// Writes to descriptors that are not open: each write must fail with EBADF and the program go on.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
  int fds[] = {7, 42, 1000};
  for (int i = 0; i < 3; i++) {
    errno = 0;
    ssize_t n = write(fds[i], "x", 1);
    printf("write(%d) = %zd errno=%s\n", fds[i], n, errno == EBADF ? "EBADF" : strerror(errno));
  }
  printf("still running\n");
  return 0;
}
