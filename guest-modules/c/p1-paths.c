// "Interesting paths": trailing slashes, "." and ".." on existing and missing files and directories.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static void try_open(const char *path, int flags) {
  errno = 0;
  int fd = open(path, flags, 0644);
  printf("open %s -> %s\n", path, fd >= 0 ? "ok" : strerror(errno));
  if (fd >= 0) close(fd);
}
static void try_stat(const char *path) {
  struct stat st;
  errno = 0;
  int r = stat(path, &st);
  printf("stat %s -> %s\n", path, r == 0 ? (S_ISDIR(st.st_mode) ? "dir" : "file") : strerror(errno));
}
int main(void) {
  mkdir("/data/dir", 0755);
  close(open("/data/dir/file", O_CREAT | O_WRONLY, 0644));
  try_stat("/data/dir/");
  try_stat("/data/dir/.");
  try_stat("/data/dir/..");
  try_stat("/data/dir/file");
  try_stat("/data/dir/file/");
  try_stat("/data/dir/file/.");
  try_stat("/data/dir/missing/");
  try_stat("/data/dir/../dir/file");
  try_stat("/data/..");
  try_open("/data/dir/file/", O_RDONLY);
  try_open("/data/dir/new/", O_CREAT | O_WRONLY);
  try_open("/data/dir/./file", O_RDONLY);
  try_open("/data/dir/missing/../file", O_RDONLY);
  errno = 0;
  printf("mkdir trailing -> %s\n", mkdir("/data/made/", 0755) == 0 ? "ok" : strerror(errno));
  errno = 0;
  printf("rmdir dot -> %s\n", rmdir("/data/made/.") == 0 ? "ok" : strerror(errno));
  errno = 0;
  printf("unlink trailing -> %s\n", unlink("/data/dir/file/") == 0 ? "ok" : strerror(errno));
  return 0;
}
