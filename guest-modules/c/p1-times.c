// File timestamps: set (fd and path forms) and read back; a symlink's own times (lstat).
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>
int main(void) {
  int fd = open("/data/t.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (fd < 0) { printf("open failed %s\n", strerror(errno)); return 1; }
  write(fd, "hi", 2);
  struct timespec fdt[2] = {{1000000000, 0}, {1100000000, 500}};
  printf("futimens=%d\n", futimens(fd, fdt));
  struct stat st;
  fstat(fd, &st);
  printf("fd atime=%lld mtime=%lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
  close(fd);
  struct timespec pt[2] = {{1200000000, 0}, {1300000000, 0}};
  printf("utimensat=%d\n", utimensat(AT_FDCWD, "/data/t.txt", pt, 0));
  stat("/data/t.txt", &st);
  printf("path atime=%lld mtime=%lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
  printf("symlink=%d\n", symlink("t.txt", "/data/link"));
  struct timespec lt[2] = {{1400000000, 0}, {1500000000, 0}};
  printf("utimensat nofollow=%d\n", utimensat(AT_FDCWD, "/data/link", lt, AT_SYMLINK_NOFOLLOW));
  lstat("/data/link", &st);
  printf("link is symlink=%d mtime=%lld\n", S_ISLNK(st.st_mode), (long long)st.st_mtim.tv_sec);
  stat("/data/link", &st);
  printf("through link mtime=%lld\n", (long long)st.st_mtim.tv_sec);
  return 0;
}
